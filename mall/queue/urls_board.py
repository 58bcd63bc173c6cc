"""Queue pages (board): the hall TV's display board, its JSON and its event stream."""

from django.urls import path

from mall.queue import views_board

app_name = "queue_board"
urlpatterns = [
    path("layar/", views_board.board, name="board"),
    path("layar/status.json", views_board.status, name="status"),
    path("layar/events/", views_board.events, name="events"),
]
