#!/bin/sh
# Restore a dump from loa-backup.sh into an EMPTY database, in one transaction (all or
# nothing). Stop Loa first (systemctl stop loa.target), create the database, restore,
# point LOA_DATABASE_URL at it, run `loa migrate` (a dump from an older Loa), start Loa.
#
#   loa-restore.sh /var/backups/loa/loa-20261201T023000Z.dump postgresql://loa@127.0.0.1/loa_restored
set -eu

if [ $# -ne 2 ]; then
    echo "usage: loa-restore.sh DUMP DATABASE_URL" >&2
    exit 2
fi
dump=$1
url=$(printf '%s' "$2" | sed -e 's|^postgresql+[a-z0-9]*://|postgresql://|')
pg_restore --exit-on-error --single-transaction --no-owner --no-privileges --dbname="$url" "$dump"
echo "restored $dump"
