"""Starts N copies of a command at once and prints each one's exit status and
standard output, in order. Usage: parallel_runs.py N CMD ARGS..."""
import subprocess
import sys

n, cmd = int(sys.argv[1]), sys.argv[2:]
procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE) for _ in range(n)]
for p in procs:
    out, _ = p.communicate()
    print(f"status {p.returncode}: {out.decode().strip()}")
