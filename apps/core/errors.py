class ApplicationError(Exception):
    """A domain failure that is not bad user input (a broken invariant, a refused state change)."""

    def __init__(self, message: str, *, code: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
