/*  tsdb_backup.h — `tsdb backup` and `tsdb restore`: a consistent, compacted copy of a data
    directory, taken while a tsdb runs on it and ingests, into a directory or an Azure blob.

    tsdb backup --storage.tsdb.path=DIR --to=DIR|https://ACCOUNT.blob.core.windows.net/C/NAME?SAS
      opens DIR's LMDB environment read-only (a tsdb may run on it: LMDB's lock file shares it;
      the database is never written) and writes LMDB's compacting copy (mdb_env_copy2 /
      mdb_env_copyfd2 with MDB_CP_COMPACT: one read transaction, so it is the database as of
      one commit, free pages dropped). To a directory (made when missing, refused when it
      holds anything): DIR/data.mdb. To a blob: the copy streams through a pipe, cut into
      --azure.block-size blocks, each sent with Put Block, then Put Block List commits them
      (tsdb_azblob.h); nothing is kept on local disk.
    tsdb restore --from=DIR|URL --storage.tsdb.path=EMPTYDIR
      refuses a target that holds anything (lost+found aside), then copies DIR's data.mdb
      (again LMDB's compacting copy, which reads the whole backup) or downloads the blob
      (Get Blob) into EMPTYDIR/data.mdb.part, and renames it data.mdb once LMDB opens it and
      it holds floorwatch storage. A tsdb started on EMPTYDIR answers as the original did
      at the backup's commit (samples after it, and not yet committed then, are missing).
    Exit codes: 0 done, 1 the copy, upload or download failed (the source is untouched, and a
    failed restore leaves the target as it was), 2 usage.
*/
#ifndef TSDB_BACKUP_H
#define TSDB_BACKUP_H

#include <stdio.h>

int tsdb_backup_main(int argc, char **argv, FILE *errout);
int tsdb_restore_main(int argc, char **argv, FILE *errout);

#endif
