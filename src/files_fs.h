/* files_fs.h - the file-system side of the files handler: paths beneath a root, uploads' temporary files, MIME types, directory listings. */
#ifndef DISPATCHD_FILES_FS_H
#define DISPATCHD_FILES_FS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct buf;

/* Entries at most in one listing (hidden ones not counted): a line costs
 * up to about 2.5 KB for a 255-byte name, so a listing stays under 25 MiB. */
#define FS_LISTING_MAX 10000
/* A buffer that holds any name fs_tmpfile makes, its NUL included. */
#define FS_TMPNAME_MAX (NAME_MAX + 1)
/* Worst-case output sizes of fs_html_escape and fs_url_encode for n bytes. */
/* clang-format off */
#define FS_HTML_MAX(n) ((n) * 6)
#define FS_URL_MAX(n)  ((n) * 3)
/* clang-format on */
/* Lines longer than this make mime_load fail; more extensions, too. */
#define MIME_LINE_MAX 4096
#define MIME_EXTS_MAX 100000

/*
 * Checks a decoded URL path ("/a/b/") segment by segment: 0 when every
 * segment is safe; -1 when any segment starts with '.' (".", "..",
 * dotfiles: the server answers 404, so neither traversal nor ".git" or
 * our own upload temporaries are ever reachable) or path holds a NUL byte
 * (it would cut the path short; the server answers 400 before asking).
 * Empty segments ("//") are allowed: the file system ignores them.
 */
int fs_path_check(const char *path, size_t len);

/*
 * Opens path (decoded, NUL-terminated, normally passed by fs_path_check)
 * relative to rootfd without ever leaving the root, as openat(2) would
 * with flags and mode (mode only with O_CREAT); O_CLOEXEC is always added.
 * Leading '/'s mean the root itself: "" and "/" open the root.
 *
 * With openat2(2) (Linux 5.6): RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS.
 * A symlink whose target stays beneath the root is followed; one that
 * leads out (absolute, or too many "..") fails with EXDEV, as does a ".."
 * above the root; a /proc magic link fails with ELOOP.
 *
 * Without it (the first call finds openat2 answering ENOSYS, or EPERM for
 * a path that cannot deny permission: a seccomp filter), a walk of one
 * openat(O_PATH | O_DIRECTORY | O_NOFOLLOW) per directory, stricter than
 * openat2 as it cannot check where a link or ".." leads without a race:
 * every symlink, inside the root or not, fails with ELOOP, and every ".."
 * with EXDEV.
 *
 * Returns the descriptor, or -1 with errno (ENOENT, ENOTDIR, EXDEV,
 * ELOOP, EACCES, ENAMETOOLONG, EISDIR, ... as openat).
 */
int fs_open_beneath(int rootfd, const char *path, int flags, mode_t mode);

/* For tests: true forces the fallback walk in every later call (one
 * switch for the process); false goes back to openat2 where it works. */
void fs_force_fallback(bool on);

/*
 * For uploads: opens the parent directory of path beneath rootfd
 * (O_RDONLY | O_DIRECTORY, so the caller can fsync it) and copies the
 * last segment into name (namelen bytes, NUL included).  Returns the
 * descriptor, or -1 with errno: EINVAL when path ends with '/' or its last
 * segment is empty, "." or ".."; ENAMETOOLONG when name cannot hold it;
 * ENOENT when the parent is missing; the rest as fs_open_beneath.
 */
int fs_open_parent(int rootfd, const char *path, char *name, size_t namelen);

/*
 * Creates a new, unique temporary file ".NAME.XXXXXX" in dirfd (hidden:
 * it starts with '.', so it is never served nor listed), with
 * O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC and mode 0644 (less the umask);
 * NAME is cut short where the whole would pass NAME_MAX.  Its name goes to
 * tmpname (tmplen bytes; FS_TMPNAME_MAX always suffices).  The caller
 * renameat()s it into place when complete or unlinkat()s it.  Returns the
 * descriptor, or -1 with errno (EINVAL when name holds a '/': it is one
 * segment; ENAMETOOLONG when tmplen is too small; EEXIST after 100 taken
 * names; the rest as openat).
 */
int fs_tmpfile(int dirfd, const char *name, char *tmpname, size_t tmplen);

struct mime_table;

/*
 * Loads path, in the mime.types format: "type ext ext ..." a line,
 * blank-separated; '#' starts a comment; a type without a '/' or with
 * bytes outside printable ASCII is ignored with its line.  Extensions
 * match case-insensitively (ASCII); the first mapping of one wins.
 * Returns the table, or NULL with errno: ENOENT when path is absent (the
 * caller then answers application/octet-stream for everything), EINVAL
 * for a line over MIME_LINE_MAX bytes, E2BIG beyond MIME_EXTS_MAX
 * extensions, ENOMEM, or what fopen and reading set.
 */
struct mime_table *mime_load(const char *path);

/*
 * The type of file name (a path, or a name alone) from its last extension
 * (after the last '.' of its last segment, leading dots aside: ".profile"
 * has none), or "application/octet-stream" when it has none, it is not
 * in tbl, or tbl is NULL.  No charset is added to text/ types: the file
 * says nothing of its encoding, so we claim none.  The string lives as
 * long as tbl.
 */
const char *mime_type(const struct mime_table *tbl, const char *name);

/* Frees tbl; NULL is allowed. */
void mime_free(struct mime_table *tbl);

/*
 * Appends to out an HTML5 listing of the open directory dirfd (kept by
 * the caller, its offset untouched: the listing reads its own descriptor)
 * for the decoded URL path urlpath (ending with '/'): a "../" link unless
 * urlpath is "/", then one table row per entry, sorted by name in byte
 * order (strcmp).  Names starting with '.' are left out (they are 404).
 * Directories end with '/' and have size "-"; regular files have their
 * size in bytes; anything else (devices, sockets) has "-".  A symlink
 * shows its target's kind and size when the target resolves beneath
 * dirfd (fs_open_beneath); otherwise (dangling, leading out, or any link
 * under the fallback walk) it is listed as a name with "-": it exists,
 * and the server will answer 404 for it.  An entry removed while we read
 * is left out.  hrefs are percent-encoded (fs_url_encode), names and
 * urlpath HTML-escaped (fs_html_escape).  Beyond FS_LISTING_MAX entries
 * (in directory order) the rest is left out and a line says so.  The
 * same directory gives the same bytes: responses are compared byte for
 * byte across the models.  Returns 0, or -1 with errno (out unchanged).
 */
int fs_listing(int dirfd, const char *urlpath, struct buf *out);

/*
 * Writes s[0..n) to dst HTML-escaped: & < > " ' as &amp; &lt; &gt; &quot;
 * &#39; (text and attribute values alike); other bytes unchanged.  dst
 * holds FS_HTML_MAX(n) bytes.  Returns the bytes written (no NUL).
 */
size_t fs_html_escape(char *dst, const char *s, size_t n);

/*
 * Writes s[0..n) to dst percent-encoded: every byte but RFC 3986's
 * unreserved [A-Za-z0-9-._~] as %HH (upper-case), '/' included: the
 * result is one path segment.  dst holds FS_URL_MAX(n) bytes.  Returns
 * the bytes written (no NUL).
 */
size_t fs_url_encode(char *dst, const char *s, size_t n);

#endif
