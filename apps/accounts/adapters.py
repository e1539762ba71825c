from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """Hook point for the portal's account rules (phone login and claims arrive with the portal)."""
