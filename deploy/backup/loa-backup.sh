#!/bin/sh
# One consistent backup of Loa: the PostgreSQL database (pg_dump, custom format: one
# snapshot, so every notice comes with its deliveries and acknowledgements) and the
# attachment store. Reads LOA_DATABASE_URL (as Loa does, from /etc/loa/loa.env) and
# LOA_ATTACHMENTS__DIR; writes into LOA_BACKUP_DIR; prints the dump's path.
#
#   LOA_BACKUP_DIR        where backups go            (default /var/backups/loa)
#   LOA_BACKUP_KEEP_DAYS  older ones are deleted      (default 14)
set -eu

: "${LOA_DATABASE_URL:?set LOA_DATABASE_URL (postgresql+asyncpg://user@host/db)}"
: "${LOA_BACKUP_DIR:=/var/backups/loa}"
: "${LOA_BACKUP_KEEP_DAYS:=14}"

# SQLAlchemy's URL (postgresql+asyncpg://...) in libpq's form (postgresql://...).
url=$(printf '%s' "$LOA_DATABASE_URL" | sed -e 's|^postgresql+[a-z0-9]*://|postgresql://|')
case "$url" in
    postgresql://*) ;;
    *) echo "loa-backup: LOA_DATABASE_URL is not a PostgreSQL URL" >&2; exit 2 ;;
esac

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$LOA_BACKUP_DIR"
umask 077  # bot tokens are encrypted, but names and chat ids are personal data
dump="$LOA_BACKUP_DIR/loa-$stamp.dump"
pg_dump --format=custom --no-owner --no-privileges --file="$dump.part" "$url"
mv "$dump.part" "$dump"

files="${LOA_ATTACHMENTS__DIR:-}"
if [ -n "$files" ] && [ -d "$files" ]; then
    tar -C "$files" -czf "$LOA_BACKUP_DIR/attachments-$stamp.tar.gz.part" .
    mv "$LOA_BACKUP_DIR/attachments-$stamp.tar.gz.part" "$LOA_BACKUP_DIR/attachments-$stamp.tar.gz"
fi

find "$LOA_BACKUP_DIR" -maxdepth 1 \( -name 'loa-*.dump' -o -name 'attachments-*.tar.gz' \) \
    -mtime +"$LOA_BACKUP_KEEP_DAYS" -delete
echo "$dump"
