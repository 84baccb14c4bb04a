// Package tail reads one container's CRI log file the way Fluent Bit's tail
// input does for EKS Fargate (Path /var/log/containers/*.log with the cri
// multiline parser): it follows the file across the kubelet-style rotation
// done by fargo's containerlog package, joins the partial (P) entries the
// shim writes for lines over 16 KiB, and can be resumed from a saved
// Position and paused for back-pressure (nothing is read until Read is
// called, and a paused reader catches up on the rotated files it missed).
//
// A Reader never blocks in Read; Wait blocks until more may be readable,
// using inotify on the log's directory when the kernel grants an instance
// and polling otherwise.
//
// Positions identify a file by inode, as Fluent Bit's tail database does,
// plus the time of the last entry read, which lets a resumed reader tell a
// reused inode from the file it read and skip what it already passed when
// that file has been compressed or removed since.
package tail
