package guestinit

import "strings"

func splitLines(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }

func splitFields(s string) []string { return strings.Fields(s) }

func hasPathPrefix(p, dir string) bool { return strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/") }
