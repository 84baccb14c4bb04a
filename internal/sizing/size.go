// Package sizing implements Fargate right-sizing: it picks the vCPU/memory
// combination ("CapacityProvisioned") a pod is given and enforced on, and the
// ephemeral storage of the pod's sandbox, following the rules of EKS Fargate
// (spec section 3, "Sizing").
//
// Sizes are kept as exact integers (millicores and MiB) so that table lookups
// and comparisons never depend on floating-point rounding. The text form is the
// one EKS puts in the CapacityProvisioned annotation, e.g. "0.25vCPU 0.5GB",
// where GB means GiB (1024 MiB).
package sizing

import (
	"fmt"
	"strconv"
	"strings"
)

const (
	mibPerGiB   = 1024
	bytesPerMiB = 1 << 20
	bytesPerGiB = 1 << 30
	milliPerCPU = 1000
)

// Size is one Fargate vCPU/memory combination.
type Size struct {
	MilliCPU  int64 // 1000 = 1 vCPU
	MemoryMiB int64 // 1024 = 1 GB as EKS writes it
}

// table lists every valid combination, ordered by vCPU then memory. ForPod
// relies on that order: the first row that fits is the smallest size.
var table = buildTable()

// buildTable spells out the table of spec section 3. The first two vCPU
// levels are irregular (0.5 GB appears once), the others are ranges.
func buildTable() []Size {
	levels := []struct {
		milliCPU  int64
		memoryMiB []int64
	}{
		{250, []int64{512, 1 * mibPerGiB, 2 * mibPerGiB}},
		{500, gibRange(1, 4, 1)},
		{1000, gibRange(2, 8, 1)},
		{2000, gibRange(4, 16, 1)},
		{4000, gibRange(8, 30, 1)},
		{8000, gibRange(16, 60, 4)},
		{16000, gibRange(32, 120, 8)},
	}
	var sizes []Size
	for _, l := range levels {
		for _, mem := range l.memoryMiB {
			sizes = append(sizes, Size{MilliCPU: l.milliCPU, MemoryMiB: mem})
		}
	}
	return sizes
}

// gibRange returns from..to GiB (inclusive) in steps of step GiB, in MiB.
func gibRange(from, to, step int64) []int64 {
	var out []int64
	for g := from; g <= to; g += step {
		out = append(out, g*mibPerGiB)
	}
	return out
}

// Table returns every valid Fargate size, smallest first. The slice is a
// copy; callers may modify it.
func Table() []Size {
	return append([]Size(nil), table...)
}

// Smallest is the size of a pod that requests nothing.
func Smallest() Size { return table[0] }

// Largest is the biggest size Fargate offers; bigger pods are rejected.
func Largest() Size { return table[len(table)-1] }

// Valid reports whether s is one of the combinations of the table.
func (s Size) Valid() bool {
	for _, t := range table {
		if t == s {
			return true
		}
	}
	return false
}

// String gives the CapacityProvisioned text, e.g. "0.25vCPU 0.5GB",
// "16vCPU 120GB": decimal numbers without trailing zeros.
func (s Size) String() string {
	return formatCPU(s.MilliCPU) + " " + formatMemory(s.MemoryMiB)
}

func formatCPU(milli int64) string { return formatRatio(milli, milliPerCPU) + "vCPU" }

func formatMemory(mib int64) string { return formatRatio(mib, mibPerGiB) + "GB" }

// formatRatio writes n/den as an exact decimal without trailing zeros. den is
// 1000 or 1024; both divide a power of ten, so the expansion terminates.
func formatRatio(n, den int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	var b strings.Builder
	b.WriteString(sign)
	b.WriteString(strconv.FormatInt(n/den, 10))
	rem := n % den
	if rem == 0 {
		return b.String()
	}
	b.WriteByte('.')
	for i := 0; rem != 0 && i < 12; i++ { // 12 digits is a guard, 10 suffice
		rem *= 10
		b.WriteByte(byte('0' + rem/den))
		rem %= den
	}
	return b.String()
}

// Parse reads the CapacityProvisioned text written by String. It is strict
// on purpose: the scheduler provisions exactly what the annotation says, so
// anything that is not the canonical text of a valid combination (a
// hand-edited "1.0vCPU 2GB", "3vCPU 6GB", junk) is an error, not a guess.
func Parse(text string) (Size, error) {
	cpuText, memText, ok := strings.Cut(text, " ")
	if !ok {
		return Size{}, parseError(text, "want <vCPU>vCPU <memory>GB")
	}
	cpuNum, okCPU := strings.CutSuffix(cpuText, "vCPU")
	memNum, okMem := strings.CutSuffix(memText, "GB")
	if !okCPU || !okMem {
		return Size{}, parseError(text, "want <vCPU>vCPU <memory>GB")
	}
	milli, err := parseDecimal(cpuNum, milliPerCPU)
	if err != nil {
		return Size{}, parseError(text, "vCPU: "+err.Error())
	}
	mib, err := parseDecimal(memNum, mibPerGiB)
	if err != nil {
		return Size{}, parseError(text, "memory: "+err.Error())
	}
	s := Size{MilliCPU: milli, MemoryMiB: mib}
	if !s.Valid() {
		return Size{}, parseError(text, "not a Fargate vCPU/memory combination")
	}
	if s.String() != text {
		return Size{}, parseError(text, fmt.Sprintf("not in canonical form %q", s.String()))
	}
	return s, nil
}

func parseError(text, why string) error {
	return fmt.Errorf("invalid Fargate size %q: %s", text, why)
}

// parseDecimal turns a plain decimal ("0.25", "120") into an exact count of
// 1/unit steps, failing when the value is not a whole number of steps.
// Lengths are bounded so the arithmetic cannot overflow.
func parseDecimal(text string, unit int64) (int64, error) {
	wholeText, fracText, _ := strings.Cut(text, ".")
	if !allDigits(wholeText) || len(wholeText) > 6 || len(fracText) > 10 ||
		(strings.Contains(text, ".") && !allDigits(fracText)) {
		return 0, fmt.Errorf("%q is not a decimal number", text)
	}
	whole, _ := strconv.ParseInt(wholeText, 10, 64)
	value := whole * unit
	if fracText == "" {
		return value, nil
	}
	frac, _ := strconv.ParseInt(fracText, 10, 64)
	scale := int64(1)
	for range fracText {
		scale *= 10
	}
	// frac/scale of a unit must itself be a whole number of steps.
	if (frac*unit)%scale != 0 {
		return 0, fmt.Errorf("%q is finer than 1/%d", text, unit)
	}
	return value + frac*unit/scale, nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
