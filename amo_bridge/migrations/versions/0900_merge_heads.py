"""Merge the parallel heads (money, imports, SMS, renewals) into one line of history.

Revision ID: 0900_merge
Revises: 0200_money, 0300_imports, 0400_sms, 0500_renewals
"""

revision = "0900_merge"
down_revision = ("0200_money", "0300_imports", "0400_sms", "0500_renewals")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
