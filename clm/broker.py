"""The serverless broker of `make run`: kombu's filesystem transport, made safe to share.

kombu's own transport creates a message file under its final name and then writes it, so a
worker listing the folder at that moment can take the file while it is still empty, fail to
decode it and stop ("Unrecoverable error: JSONDecodeError"). Here a message is written under a
name the worker ignores and renamed into place (one atomic step on one file system), and a
file that still cannot be decoded is set aside in `failed/` with an error logged instead of
stopping the worker. Selected by `CELERY_BROKER_TRANSPORT` (clm/settings.py) for
`filesystem://` URLs only.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic_ns
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

log = logging.getLogger(__name__)

PARTIAL = ".part"  # suffix of a message being written: `_get` only takes names ending in .msg
# Names sort in the order messages were sent: the machine's monotonic clock in nanoseconds,
# then a per-process counter for two messages within one tick (milliseconds were too coarse:
# three messages put in a row could come back out of order).
_SEQUENCE = itertools.count()


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        """Write the message beside the queue and rename it in once complete."""
        name = f"{monotonic_ns():020d}_{next(_SEQUENCE):012d}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        try:
            with open(final + PARTIAL, "wb") as out:
                out.write(str_to_bytes(dumps(payload)))
            os.replace(final + PARTIAL, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue: str) -> Any:
        """Take the oldest message of `queue`; one that cannot be decoded is set aside."""
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            taken = os.path.join(self.data_folder_in, name + ".taken")
            try:
                # Rename within the folder: a second consumer finds the name gone and moves on.
                os.rename(os.path.join(self.data_folder_in, name), taken)
            except OSError:
                continue
            try:
                with open(taken, "rb") as f:
                    payload = f.read()
                message = loads(bytes_to_str(payload))
            except (OSError, ValueError) as exc:
                failed = Path(self.data_folder_in).parent / "failed"
                failed.mkdir(exist_ok=True)
                shutil.move(taken, failed / name)
                log.error("broker message %s unreadable (%s): moved to %s", name, exc, failed)
                continue
            os.remove(taken)
            return message
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
