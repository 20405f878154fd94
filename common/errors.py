"""The root of every error CourseTA raises on purpose.

Each layer has its own root below this one (``settings.SettingsError``,
``retrieval.errors.RetrievalError``, ``agent.errors.AgentError``, ``ui.sqlite_store.StoreError``), and
each message is one sentence a user can act on. Command-line tools and pages catch
:class:`CourseTAError` and print ``str(err)``, never a traceback.

>>> from retrieval.errors import IndexMissingError
>>> issubclass(IndexMissingError, CourseTAError)
True
"""


class CourseTAError(Exception):
    """Something the user can fix: the message says what and how."""
