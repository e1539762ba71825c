from django.urls import path, re_path

from . import views

app_name = "portal"

urlpatterns = [
    path("me/", views.ProfileView.as_view(), name="profile"),
    path("me/contacts/add/", views.ContactAddView.as_view(), name="contact-add"),
    path("me/contacts/<int:contact_id>/confirm/", views.ContactConfirmView.as_view(), name="contact-confirm"),
    path("me/contacts/<int:contact_id>/resend/", views.ContactResendView.as_view(), name="contact-resend"),
    path("me/contacts/<int:contact_id>/remove/", views.ContactRemoveView.as_view(), name="contact-remove"),
    path("me/job/", views.JobEditView.as_view(), name="job-edit"),
    path("me/address/", views.AddressEditView.as_view(), name="address-edit"),
    path("me/privacy/", views.PrivacyView.as_view(), name="privacy"),
    path("me/photo/", views.MyPhotoView.as_view(), name="my-photo"),
    path("me/data/", views.MyDataView.as_view(), name="my-data"),
    re_path(r"^me/data/copy\.(?P<file_format>json|xlsx)$", views.MyDataDownloadView.as_view(), name="my-data-download"),
    path("directory/", views.DirectoryView.as_view(), name="directory"),
    path("directory/<int:person_id>/", views.DirectoryPersonView.as_view(), name="directory-person"),
    path("directory/<int:person_id>/write/", views.MessageComposeView.as_view(), name="message-compose"),
    path("messages/", views.InboxView.as_view(), name="inbox"),
    path("messages/<int:conversation_id>/", views.ConversationView.as_view(), name="conversation-detail"),
    path("messages/<int:conversation_id>/block/", views.BlockView.as_view(), name="conversation-block"),
    path("card/", views.CardView.as_view(), name="card"),
    path("card/verify/<str:token>/", views.card_verify, name="card-verify"),
]
