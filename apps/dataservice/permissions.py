"""Action rules for data requests and exports; which rows a user sees is in selectors.py."""

from .models import DataRequest, ExportJob

APPROVE_PERMISSION = "dataservice.approve_datarequest"


def can_approve_datarequest(user) -> bool:
    """Only office administrators approve or refuse (PIPL: the handler decides on provision)."""
    return bool(user and user.is_active and user.has_perm(APPROVE_PERMISSION))


def can_edit_datarequest(user, request: DataRequest) -> bool:
    return request.status == DataRequest.Status.DRAFT and user.has_perm("dataservice.change_datarequest")


def can_submit_datarequest(user, request: DataRequest) -> bool:
    return can_edit_datarequest(user, request)


def can_download_export_job(user, job: ExportJob) -> bool:
    """An export job's file is its creator's alone: it was cut to their scope and fields."""
    return job.created_by_id == user.pk
