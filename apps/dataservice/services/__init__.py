"""Every write of the data-service app: exports of person lists and data-request deliveries."""

from .exports import (
    export_job_create,
    export_job_download,
    export_job_fail,
    export_job_run,
    person_export_csv_stream,
    person_export_to_file,
    person_export_xlsx,
)
from .requests import (
    data_links_expire,
    datarequest_approve,
    datarequest_create,
    datarequest_delete_draft,
    datarequest_download,
    datarequest_produce,
    datarequest_produce_again,
    datarequest_production_failed,
    datarequest_refuse,
    datarequest_save_draft,
    datarequest_submit,
)

__all__ = [
    "data_links_expire",
    "datarequest_approve",
    "datarequest_create",
    "datarequest_delete_draft",
    "datarequest_download",
    "datarequest_produce",
    "datarequest_produce_again",
    "datarequest_production_failed",
    "datarequest_refuse",
    "datarequest_save_draft",
    "datarequest_submit",
    "export_job_create",
    "export_job_download",
    "export_job_fail",
    "export_job_run",
    "person_export_csv_stream",
    "person_export_to_file",
    "person_export_xlsx",
]
