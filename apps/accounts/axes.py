def username_from_credentials(request, credentials) -> str | None:
    """allauth authenticates with ``email=``, the admin form with ``username=``: lock on either."""
    credentials = credentials or {}
    value = credentials.get("email") or credentials.get("username")
    if not value and request is not None and request.method == "POST":
        value = request.POST.get("login") or request.POST.get("username")
    return value.strip().lower() if value else None
