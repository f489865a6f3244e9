"""Python frames on every thread and in every process: argv[1] is the mode.
- threads: two threading.Threads keep 20 bytearrays of 50,000 bytes each (thread_work);
- c-thread: a thread started by C (argv[2]: the python_callback library) calls back into Python,
  which keeps 20 such bytearrays (from_c);
- fork, spawn, forkserver: a multiprocessing pool of two processes, each keeping 20 (process_work).
Prints what it kept, in bytearrays."""
import ctypes
import multiprocessing
import sys
import threading

kept = []


def thread_work():
    kept.extend(bytearray(50_000) for _ in range(10))  # THREAD


def process_work(_):
    mine = [bytearray(50_000) for _ in range(20)]  # PROCESS
    return len(mine)


def from_c(_):
    kept.append(bytearray(50_000))  # FROM_C


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "threads":
        threads = [threading.Thread(target=thread_work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(len(kept))
    elif mode == "c-thread":
        library = ctypes.CDLL(sys.argv[2])
        callback_type = ctypes.CFUNCTYPE(None, ctypes.c_int)
        callback = callback_type(from_c)
        library.call_from_c_thread(callback, 20)
        print(len(kept))
    else:
        with multiprocessing.get_context(mode).Pool(2) as pool:
            print(sum(pool.map(process_work, range(2))))
