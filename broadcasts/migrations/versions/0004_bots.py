"""bots: tokens encrypted at rest (found by hash), bots enabled/disabled, code attempts

Revision ID: 0004_bots
Revises: 0003_tenancy
Create Date: 2026-12-01 13:30:00.000000

Tokens stored in clear before this revision are encrypted here, with the process's key
(LOA_SECRET_KEY); without one, the upgrade stops and says so (nothing is changed).
"""
import hashlib
import os
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision: str = '0004_bots'
down_revision: str | None = '0003_tenancy'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _seal_existing() -> list[tuple[int, str, str]]:
    rows = op.get_bind().execute(sa.text('SELECT id, token FROM bot_account')).all()
    if not rows:
        return []
    from broadcasts import tokens

    if tokens.has_token_key():  # the process's key (`loa run` installs it before migrating)
        seal, unseal = tokens.seal, tokens.unseal
    else:
        key = os.environ.get('LOA_SECRET_KEY', '').strip()
        if not key:
            raise SystemExit(
                'bot tokens are stored in the database: set LOA_SECRET_KEY (a Fernet key) '
                'before upgrading, so that they can be encrypted'
            )
        cipher = tokens.make_cipher(key)

        def seal(token: str) -> str:
            return cipher.encrypt(token.encode()).decode()

        def unseal(sealed: str) -> str:
            return cipher.decrypt(sealed.encode()).decode()

    sealed = []
    for row_id, token in rows:
        plain = unseal(token) if tokens.is_sealed(token) else token
        sealed.append((row_id, seal(plain), hashlib.sha256(plain.encode()).hexdigest()))
    return sealed


def upgrade() -> None:
    sealed = _seal_existing()
    # `token` keeps its type and its unique constraint: a Fernet ciphertext of a Telegram
    # token (about 46 characters) is 140 characters, and ciphertexts never repeat.
    with op.batch_alter_table('bot_account', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64),
                      nullable=False, server_default='')
        )
        batch_op.add_column(
            sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(),
                                      nullable=True))
    for row_id, token, digest in sealed:
        op.get_bind().execute(
            sa.text('UPDATE bot_account SET token = :t, token_hash = :h WHERE id = :i'),
            {'t': token, 'h': digest, 'i': row_id},
        )
    op.get_bind().execute(sa.text('UPDATE bot_account SET updated_at = created_at'))
    with op.batch_alter_table('bot_account', schema=None) as batch_op:
        batch_op.alter_column('updated_at', existing_type=sqlmodel.sql.sqltypes.UTCDateTime(),
                              nullable=False)
        batch_op.create_unique_constraint('uq_bot_account_token_hash', ['token_hash'])
    op.create_table(
        'code_attempt',
        sa.Column('who', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_start', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('blocked_until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('who'),
    )


def downgrade() -> None:
    op.drop_table('code_attempt')
    with op.batch_alter_table('bot_account', schema=None) as batch_op:
        batch_op.drop_constraint('uq_bot_account_token_hash', type_='unique')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('active')
        batch_op.drop_column('token_hash')
