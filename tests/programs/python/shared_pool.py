# Four forked workers share the parent's 96 MiB buffer (they read every page of it; nothing copies
# it) and hold 8 MiB each of their own. Once all hold everything, the parent adds up the PSS of
# the five processes from their own /proc/PID/smaps_rollup and prints "tree pss BYTES", holds on
# for 400 ms (so that the tracker's samplers read PSS at a grid point or two, every 100 ms in a
# process's first second), then lets them end.
import multiprocessing as mp
import sys
import time

MiB = 1 << 20
shared = b"\x01" * (96 * MiB)


def work(ready, done):
    total = 0
    view = memoryview(shared)
    for at in range(0, len(shared), 4096):
        total += view[at]
    own = b"\x02" * (8 * MiB)
    ready.put(total)
    done.wait()
    return len(own)


def pss(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    context = mp.get_context("fork")
    ready, done = context.Queue(), context.Event()
    workers = [context.Process(target=work, args=(ready, done)) for _ in range(4)]
    for w in workers:
        w.start()
    for _ in workers:
        ready.get()
    print("tree pss", pss("self") + sum(pss(w.pid) for w in workers), flush=True)
    time.sleep(0.4)
    done.set()
    for w in workers:
        w.join()
    sys.exit(max(w.exitcode for w in workers))
