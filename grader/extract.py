"""The safe extractor for `nbgrader zip_collect`: an LMS download unpacked without surprises.

`SafeExtractor` (named in nbgrader_config.py) refuses members that could write outside the
extraction folder or exhaust the disk: absolute paths, `..`, links, special files, encrypted or
damaged members, members or archives over the size limits, too many members, and zip bombs;
each refusal is a line of the collect report (downloaded/<lesson>/report.txt), which
grader/collect.py's collectors add to.
"""
import os
import re
import shutil
import stat
import zipfile
import zlib
from datetime import datetime
from pathlib import Path, PurePosixPath

from dateutil.tz import gettz
from nbgrader.plugins import ExtractorPlugin
from traitlets import Float, Int, Unicode

REPORT_NAME = "report.txt"


def _collect_root(app, step):
    """The folder of one zip_collect step (`archive` or `extracted`) of the app's lesson."""
    return Path(app._format_collect_path(step))


class _Report:
    """Lines an instructor must read after an intake: logged, and kept beside the download."""

    def __init__(self, plugin):
        self.plugin = plugin
        app = plugin.parent
        self.path = Path(app._format_collect_path("")) / REPORT_NAME if app else None

    def __call__(self, line):
        self.plugin.log.warning(line)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a") as f:
                f.write(line + "\n")


def zip_member_problem(info, seen):
    """Why a zip member must not be extracted, or None."""
    name = info.filename
    if "\x00" in name:
        return "its name contains a NUL byte"
    unix = name.replace("\\", "/")
    if unix.startswith("/") or re.match(r"^[A-Za-z]:", unix):
        return "an absolute path"
    if ".." in PurePosixPath(unix).parts:
        return "a path with '..' (it would land outside the extraction folder)"
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        return "a symbolic link"
    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        return "not a regular file (device, pipe or socket)"
    if info.flag_bits & 0x1:
        return "encrypted"
    if unix.rstrip("/") in seen:
        return "a second member with the same name"
    return None


class SafeExtractor(ExtractorPlugin):
    """Unpack every zip in downloaded/<lesson>/archive/ into extracted/<zip name>/.

    nbgrader's own extractor unpacks whatever the archive says, nested archives included. Here
    a member is refused, and named in the report, when its path is absolute or climbs out with
    '..', when it is a link or a special file, when it is encrypted, or when it would unpack
    beyond the size limits (a zip bomb). Archives inside a student's upload are not opened. Each
    file keeps its member's date as its modification time: that is the upload time the
    collector compares.
    """

    max_file_bytes = Int(200 * 2**20, help="Largest file a member may unpack to.").tag(config=True)
    max_total_bytes = Int(4 * 2**30, help="Most bytes one archive may unpack to.").tag(config=True)
    max_members = Int(20000, help="Most members one archive may have.").tag(config=True)
    max_ratio = Float(200.0, help="Largest unpacked/packed size ratio of a member above ratio_floor_bytes.").tag(config=True)
    ratio_floor_bytes = Int(2**20, help="Members smaller than this are not held to max_ratio.").tag(config=True)
    zip_timezone = Unicode("UTC", help="Time zone of the dates the LMS writes into its zip.").tag(config=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        app = self.parent
        if app is not None and hasattr(app, "_format_collect_path"):
            archive = _collect_root(app, app.archive_directory)
            (archive.parent / REPORT_NAME).unlink(missing_ok=True)
            if not archive.is_dir() or not any(archive.iterdir()):
                app.fail(f"Nothing to collect: put the zip downloaded from the LMS in {archive}/ "
                         f"(`make intake ZIP=<file> LESSON={app.coursedir.assignment_id}` does it).")

    def extract(self, archive_path, extracted_path):
        report = _Report(self)
        archive_path, extracted_path = Path(archive_path), Path(extracted_path)
        for item in sorted(archive_path.iterdir()):
            if item.is_symlink() or not item.is_file():
                report(f"refused {item.name}: not a regular file")
            elif zipfile.is_zipfile(item):
                self._extract_zip(item, extracted_path / item.stem, report)
            elif item.suffix == ".ipynb":
                shutil.copy2(item, extracted_path / item.name)
            else:
                report(f"refused {item.name}: not a zip archive (download the LMS's zip and put it here)")
        collector = getattr(self.parent, "collector_plugin_inst", None)
        if hasattr(collector, "plan") and not collector.plan():  # one of grader/collect.py's collectors
            self.parent.fail(f"Nothing collected from {archive_path}: no file is named the way "
                             f"{collector.layout_names()} name submissions of {self.parent.coursedir.assignment_id} "
                             f"(see {report.path}, and book/instructor-guide.md for the layouts).")

    def _extract_zip(self, archive, dest, report):
        zone = gettz(self.zip_timezone)
        total = 0
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > self.max_members:
                report(f"refused {archive.name}: {len(members)} members (limit {self.max_members})")
                return
            seen = set()
            for info in members:
                where = f"{archive.name}:{info.filename}"
                problem = zip_member_problem(info, seen)
                if problem is None and not info.is_dir():
                    if info.file_size > self.max_file_bytes:
                        problem = f"unpacks to {info.file_size} bytes (limit {self.max_file_bytes})"
                    elif (info.file_size > self.ratio_floor_bytes
                          and info.file_size > self.max_ratio * max(info.compress_size, 1)):
                        problem = (f"compressed {info.file_size / max(info.compress_size, 1):.0f} to 1 "
                                   f"(limit {self.max_ratio:.0f}): a zip bomb")
                    elif total + info.file_size > self.max_total_bytes:
                        report(f"refused the rest of {archive.name} from {info.filename}: the archive unpacks "
                               f"to more than {self.max_total_bytes} bytes")
                        return
                if problem:
                    report(f"refused {where}: {problem}")
                    continue
                name = info.filename.replace("\\", "/").rstrip("/")
                seen.add(name)
                if info.is_dir() or not name:
                    continue
                target = dest.joinpath(*PurePosixPath(name).parts)
                # The checks above already keep the path inside; resolving it guards against a
                # folder of an earlier member that turned out to be something else.
                if not str(target.resolve()).startswith(str(dest.resolve()) + os.sep):
                    report(f"refused {where}: it resolves outside the extraction folder")
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    written = self._copy_limited(zf, info, target)
                except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as err:
                    # zipfile stops at the declared size and checks the CRC, so a member whose
                    # header lies about its size ends here too
                    report(f"refused {where}: damaged or unreadable ({err})")
                    target.unlink(missing_ok=True)
                    continue
                if written is None:
                    report(f"refused {where}: unpacks to more than it declares")
                    target.unlink(missing_ok=True)
                    continue
                total += written
                when = datetime(*info.date_time, tzinfo=zone).timestamp()
                os.utime(target, (when, when))

    def _copy_limited(self, zf, info, target):
        """Unpack one member; None if it yields more bytes than the header declares."""
        written = 0
        with zf.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(2**20):
                written += len(chunk)
                if written > info.file_size or written > self.max_file_bytes:
                    return None
                out.write(chunk)
        return written
