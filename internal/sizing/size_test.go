package sizing

import (
	"fmt"
	"testing"
)

// row is one combination of spec section 3, written independently of
// buildTable so the tests check the data rather than restate it.
type row struct {
	milliCPU  int64
	memoryMiB int64
	text      string
}

func specRows() []row {
	var rows []row
	add := func(milli int64, cpuText string, gbTexts ...string) {
		for _, gb := range gbTexts {
			var mib int64
			if gb == "0.5" {
				mib = 512
			} else {
				var g int64
				fmt.Sscan(gb, &g)
				mib = g * 1024
			}
			rows = append(rows, row{milli, mib, cpuText + "vCPU " + gb + "GB"})
		}
	}
	steps := func(from, to, step int) []string {
		var out []string
		for g := from; g <= to; g += step {
			out = append(out, fmt.Sprint(g))
		}
		return out
	}
	add(250, "0.25", "0.5", "1", "2")
	add(500, "0.5", "1", "2", "3", "4")
	add(1000, "1", steps(2, 8, 1)...)
	add(2000, "2", steps(4, 16, 1)...)
	add(4000, "4", steps(8, 30, 1)...)
	add(8000, "8", steps(16, 60, 4)...)
	add(16000, "16", steps(32, 120, 8)...)
	return rows
}

func TestTableMatchesSpec(t *testing.T) {
	rows := specRows()
	got := Table()
	if len(got) != len(rows) || len(rows) != 74 {
		t.Fatalf("table has %d rows, spec rows %d, want 74", len(got), len(rows))
	}
	for i, r := range rows {
		t.Run(r.text, func(t *testing.T) {
			want := Size{MilliCPU: r.milliCPU, MemoryMiB: r.memoryMiB}
			if got[i] != want {
				t.Errorf("row %d = %+v, want %+v", i, got[i], want)
			}
			if !want.Valid() {
				t.Errorf("%+v not Valid", want)
			}
		})
	}
}

func TestTableIsACopy(t *testing.T) {
	Table()[0] = Size{}
	if Table()[0] != Smallest() || Smallest() != (Size{250, 512}) {
		t.Fatal("Table exposes the package's data")
	}
}

func TestString(t *testing.T) {
	for _, r := range specRows() {
		t.Run(r.text, func(t *testing.T) {
			s := Size{MilliCPU: r.milliCPU, MemoryMiB: r.memoryMiB}
			if got := s.String(); got != r.text {
				t.Errorf("String() = %q, want %q", got, r.text)
			}
		})
	}
	// Values outside the table still print exactly (used in error texts).
	odd := map[Size]string{
		{MilliCPU: 17500, MemoryMiB: 121*1024 + 256}: "17.5vCPU 121.25GB",
		{MilliCPU: 1, MemoryMiB: 1}:                  "0.001vCPU 0.0009765625GB",
		{MilliCPU: 0, MemoryMiB: 0}:                  "0vCPU 0GB",
	}
	for s, want := range odd {
		if got := s.String(); got != want {
			t.Errorf("%+v.String() = %q, want %q", s, got, want)
		}
	}
}

func TestParseRoundTrip(t *testing.T) {
	for _, s := range Table() {
		t.Run(s.String(), func(t *testing.T) {
			got, err := Parse(s.String())
			if err != nil {
				t.Fatalf("Parse(%q): %v", s.String(), err)
			}
			if got != s {
				t.Errorf("Parse(%q) = %+v, want %+v", s.String(), got, s)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, text := range []string{
		"",
		"junk",
		"1vCPU",
		"1vCPU 2GB ",
		" 1vCPU 2GB",
		"1vCPU  2GB",
		"1 vCPU 2GB",
		"1vcpu 2gb",
		"1vCPU 2GiB",
		"1CPU 2GB",
		"1.0vCPU 2GB",      // valid size, not canonical
		"1vCPU 2.0GB",      // valid size, not canonical
		"01vCPU 2GB",       // valid size, not canonical
		"3vCPU 6GB",        // not a combination
		"0.25vCPU 4GB",     // not a combination
		"1vCPU 9GB",        // memory too large for 1 vCPU
		"32vCPU 64GB",      // beyond the table
		"0vCPU 0GB",        // below the table
		"-1vCPU 2GB",       // sign
		"+1vCPU 2GB",       // sign
		"1e0vCPU 2GB",      // exponent
		"0.2501vCPU 0.5GB", // finer than a millicore
		"0.25vCPU 0.3GB",   // finer than a MiB
		".5vCPU 1GB",
		"0.vCPU 1GB",
		"0.5vCPU 1.GB",
		"99999999999999999999vCPU 2GB",
		"1vCPU 2GB\n",
	} {
		t.Run(fmt.Sprintf("%q", text), func(t *testing.T) {
			if s, err := Parse(text); err == nil {
				t.Errorf("Parse(%q) = %+v, want an error", text, s)
			}
		})
	}
}
