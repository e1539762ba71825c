from apps.accounts.models import Role

NEWS_PERMISSIONS: dict[str, list[str]] = {
    Role.OFFICE_ADMIN: [
        *[f"news.{verb}_newsitem" for verb in ("view", "add", "change", "delete")],
        "news.publish_newsitem",
        *[f"news.{verb}_publication" for verb in ("view", "add", "change", "delete")],
    ],
    Role.OFFICE_STAFF: [
        *[f"news.{verb}_newsitem" for verb in ("view", "add", "change")],
        "news.publish_newsitem",
        *[f"news.{verb}_publication" for verb in ("view", "add", "change")],
    ],
    # College staff draft news about their own colleges' people; the office publishes.
    Role.COLLEGE_STAFF: [f"news.{verb}_newsitem" for verb in ("view", "add", "change")],
}
