"""What every benchmark records beside its figures: where and when they were measured."""
import datetime
import os
import platform


def machine_description():
    """A short description of the machine, e.g. 'AMD EPYC 7B13, 2 cores, Python 3.11.7 (Linux)'."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()} ({platform.system()})"


def today():
    return datetime.date.today().isoformat()
