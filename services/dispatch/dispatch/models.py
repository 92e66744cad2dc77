"""SQLAlchemy tables owned by dispatch. The kit's own tables (outbox, inbox) are not here."""
from sqlalchemy import MetaData

metadata = MetaData()
