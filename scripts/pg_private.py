"""A PostgreSQL cluster of a benchmark's own, started as tests/src/postgres.rs
starts one for the tests (initdb into a temp dir, a unix socket only, as the
user scripts/test-prereqs.sh creates), and the memory of its processes."""
import glob
import os
import shutil
import subprocess
import tempfile

# The system user the private PostgreSQL runs as (tests/src/postgres.rs's
# PG_USER; scripts/test-prereqs.sh creates it): PostgreSQL refuses root.
PG_USER = "brine-pgtest"


class PrivatePostgres:
    """A PostgreSQL cluster of this run's own, as tests/src/postgres.rs
    starts one: initdb into a temp dir, pg_ctl start listening only on a
    unix socket in that dir, run as PG_USER. stop() ends it and removes it."""

    def __init__(self, settings, keep, log=print):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise RuntimeError("no /usr/lib/postgresql/*/bin/initdb: run scripts/test-prereqs.sh")
        self.bin, self.keep, self.log, self.started = os.path.dirname(found[-1]), keep, log, False
        self.dir = tempfile.mkdtemp(prefix="brine-bench-pg-")
        shutil.chown(self.dir, PG_USER)
        self.data = os.path.join(self.dir, "data")
        self.dsn = f"host={self.dir} dbname=brine user={PG_USER}"
        self.as_user("initdb", "-A", "trust", "-U", PG_USER, "-E", "UTF8", "-D", self.data)
        opts = " ".join([f"-k {self.dir}", "-c listen_addresses=''", *(f"-c {kv}" for kv in settings)])
        # Set before: a start that times out may still leave a server.
        self.started = True
        self.as_user("pg_ctl", "start", "-w", "-t", "60", "-o", opts,
                     "-l", os.path.join(self.dir, "server.log"), "-D", self.data)
        self.as_user("psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.dir, "-U", PG_USER,
                     "-d", "postgres", "-c", "CREATE DATABASE brine")

    def as_user(self, tool, *args, check=True):
        # runuser keeps the cwd, which the server user may not be able to read.
        p = subprocess.run(["runuser", "-u", PG_USER, "--", os.path.join(self.bin, tool), *args],
                           cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=120)
        if check and p.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)}: exit {p.returncode}: {p.stdout.decode()[-1500:]}")
        return p.stdout.decode()

    def pid(self):
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            return int(f.readline())

    def stop(self):
        if self.started:
            self.as_user("pg_ctl", "stop", "-m", "immediate", "-D", self.data, check=False)
            self.started = False
        if self.keep:
            self.log(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def pss_tree(pids):
    """(Pss summed over `pids`, a process and its descendants, number of
    processes): the shared buffers every PostgreSQL backend maps count once."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                total += sum(int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:"))
        except OSError:
            pass
    return total, len(pids)
