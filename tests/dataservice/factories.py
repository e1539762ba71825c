from datetime import date

import factory

from apps.dataservice import services
from apps.dataservice.models import DataRequest, Recipient


class RecipientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Recipient
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"部门{n}")
    kind = Recipient.Kind.OFFICE
    contact_person = "王老师"

    @factory.post_generation
    def users(self, create, extracted, **kwargs):
        if create and extracted:
            self.users.set(extracted)


def data_request(
    *, actor, recipient, fields=("name", "colleges", "graduation_years"), kind=DataRequest.Kind.SPREADSHEET, **kwargs
) -> DataRequest:
    """A draft request made through the service, as the admin makes it."""
    return services.datarequest_create(
        actor=actor,
        recipient=recipient,
        kind=kind,
        purpose=kwargs.pop("purpose", "学科评估校友信息核对"),
        legal_basis=kwargs.pop("legal_basis", DataRequest.LegalBasis.STATUTORY_DUTY),
        legal_basis_detail=kwargs.pop("legal_basis_detail", "教育部学科评估通知"),
        requested_fields=list(fields),
        retention_until=kwargs.pop("retention_until", date(2027, 12, 31)),
        **kwargs,
    )


def delivered(request: DataRequest, *, submitter, approver, fields=None, capture) -> DataRequest:
    """Submit, approve and produce (on-commit work run by ``capture``, pytest-django's fixture)."""
    services.datarequest_submit(request=request, actor=submitter)
    with capture(execute=True):
        services.datarequest_approve(request=request, actor=approver, fields=fields)
    request.refresh_from_db()
    return request
