app_name = "dataservice"
urlpatterns: list = []
