"""Who may use list matching; which rows and people they see is in selectors.py.

Matching is for the office (whole school) and for college staff within their colleges: candidates
come from the people the user may see, so a college's staff only ever match their own alumni.
Class liaisons and chapter leaders govern no college and get no access. Deciding candidates writes
honours, so it also needs the right to add honours.
"""

from apps.core.scoping import scope_for


def can_use_matching(user) -> bool:
    if not (user and user.is_authenticated and user.is_active and user.is_staff):
        return False
    scope = scope_for(user)
    return scope.whole_school or bool(scope.college_ids)


def can_decide_match(user) -> bool:
    return can_use_matching(user) and user.has_perm("alumni.add_honour")
