package cuda

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What `nvcc --list-gpu-arch` prints, per release (11.8, 12.4 and 13.5
// recorded from Debian's and NVIDIA's nvcc here; 11.4 is JetPack 5.1's, from
// its documented architectures).
var gpuArchs = map[string]string{
	"11.4": "35 37 50 52 53 60 61 62 70 72 75 80 86 87",
	"11.8": "35 37 50 52 53 60 61 62 70 72 75 80 86 87 89 90",
	"12.4": "50 52 53 60 61 62 70 72 75 80 86 87 89 90",
	"12.6": "50 52 53 60 61 62 70 72 75 80 86 87 89 90",
	"12.8": "50 52 53 60 61 62 70 72 75 80 86 87 89 90 100 101 120",
	"13.0": "75 80 86 87 88 89 90 100 110 103 120 121",
	"13.5": "75 80 86 87 88 89 90 100 110 103 120 121 107",
}

// fakeNVCC writes an nvcc that reports release ver and, unless noList,
// answers --list-gpu-arch as that release does.
func fakeNVCC(t *testing.T, ver string, noList bool) string {
	t.Helper()
	var list strings.Builder
	for _, a := range strings.Fields(gpuArchs[ver]) {
		fmt.Fprintf(&list, "compute_%s\n", a)
	}
	listCase := fmt.Sprintf("--list-gpu-arch) printf '%%s' '%s'; exit 0 ;;", list.String())
	if noList {
		listCase = `--list-gpu-arch) echo "nvcc fatal   : Unknown option '--list-gpu-arch'" >&2; exit 1 ;;`
	}
	script := fmt.Sprintf(`#!/bin/sh
case "$1" in
--version) echo "nvcc: NVIDIA (R) Cuda compiler driver"; echo "Cuda compilation tools, release %s, V%s.99"; exit 0 ;;
%s
esac
echo "fake nvcc: $*" >&2; exit 2
`, ver, ver, listCase)
	p := filepath.Join(t.TempDir(), "nvcc")
	require.NoError(t, os.WriteFile(p, []byte(script), 0o755))
	return p
}

// buildPrint runs build.sh --print with env and returns its output lines
// by their first word, or the error output.
func buildPrint(t *testing.T, env ...string) (map[string]string, string, error) {
	t.Helper()
	cmd := exec.Command("sh", "build.sh", "--print")
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(l, " ")
		got[k] = strings.TrimSpace(v)
	}
	return got, stderr.String(), err
}

// TestBuildArchsPerNVCC checks build.sh's choice of GPU architectures for
// each CUDA release a user may have: JetPack 5.1's 11.4 stops at Orin
// (sm_87), 11.8 adds Ada and Hopper, 12.8 Blackwell, 13.x drops Xavier
// (sm_72) and adds Thor (sm_110); PTX of the newest rides along.
func TestBuildArchsPerNVCC(t *testing.T) {
	tests := []struct {
		ver    string
		noList bool
		archs  string
	}{
		{"11.4", false, "72 75 80 86 87"},
		{"11.8", false, "72 75 80 86 87 89 90"},
		{"12.4", false, "72 75 80 86 87 89 90"},
		{"12.6", false, "72 75 80 86 87 89 90"},
		{"12.8", false, "72 75 80 86 87 89 90 100 120"},
		{"13.0", false, "75 80 86 87 89 90 100 110 120"},
		{"13.5", false, "75 80 86 87 89 90 100 110 120"},
		{"12.6", true, "72 75 80 86 87 89 90"}, // no --list-gpu-arch: the table alone
		{"13.0", true, "75 80 86 87 89 90 100 110 120"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s list=%v", tt.ver, !tt.noList), func(t *testing.T) {
			got, stderr, err := buildPrint(t, "NVCC="+fakeNVCC(t, tt.ver, tt.noList), "CUDA_ARCH=")
			require.NoError(t, err, stderr)
			assert.Equal(t, tt.ver, got["nvcc"])
			assert.Equal(t, tt.archs, got["archs"])
			archs := strings.Fields(tt.archs)
			newest := archs[len(archs)-1]
			assert.Contains(t, got["gencode"], fmt.Sprintf("arch=compute_%s,code=[sm_%s,compute_%s]", newest, newest, newest), "PTX of the newest")
			assert.Equal(t, len(archs), strings.Count(got["gencode"], "-gencode"))
		})
	}
	// A release whose --list-gpu-arch lacks one of the table's entries:
	// the list wins.
	t.Run("list narrower than the table", func(t *testing.T) {
		gpuArchs["12.9"] = "75 80 86 87 89 90 120"
		defer delete(gpuArchs, "12.9")
		got, stderr, err := buildPrint(t, "NVCC="+fakeNVCC(t, "12.9", false), "CUDA_ARCH=")
		require.NoError(t, err, stderr)
		assert.Equal(t, "75 80 86 87 89 90 120", got["archs"])
	})
}

func TestBuildCUDAArchOverride(t *testing.T) {
	got, stderr, err := buildPrint(t, "NVCC="+fakeNVCC(t, "11.4", false), "CUDA_ARCH=87")
	require.NoError(t, err, stderr)
	assert.Equal(t, "87", got["archs"], "JetPack builds for its own GPU")
	assert.Equal(t, "-gencode arch=compute_87,code=[sm_87,compute_87]", got["gencode"])

	got, stderr, err = buildPrint(t, "NVCC="+fakeNVCC(t, "12.6", false), "CUDA_ARCH=sm_72,87")
	require.NoError(t, err, stderr)
	assert.Equal(t, "72 87", got["archs"])

	_, stderr, err = buildPrint(t, "NVCC="+fakeNVCC(t, "13.0", false), "CUDA_ARCH=72")
	require.Error(t, err)
	assert.Contains(t, stderr, "nvcc 13.0 cannot compile sm_72")
}

func TestBuildRefuses(t *testing.T) {
	gpuArchs["11.2"] = "35 50 60 70 72 75 80 86"
	defer delete(gpuArchs, "11.2")
	_, stderr, err := buildPrint(t, "NVCC="+fakeNVCC(t, "11.2", false))
	require.Error(t, err)
	assert.Contains(t, stderr, "CUDA 11.2 is too old")

	notNVCC := filepath.Join(t.TempDir(), "nvcc")
	require.NoError(t, os.WriteFile(notNVCC, []byte("#!/bin/sh\necho hello\n"), 0o755))
	_, stderr, err = buildPrint(t, "NVCC="+notNVCC)
	require.Error(t, err)
	assert.Contains(t, stderr, "does not say its release")

	if _, err := os.Stat("/usr/local/cuda/bin/nvcc"); err == nil {
		t.Skip("this machine has /usr/local/cuda/bin/nvcc: the not-found message cannot be seen here")
	}
	// A PATH with the tools build.sh needs but no nvcc.
	bin := t.TempDir()
	for _, tool := range []string{"dirname"} {
		p, err := exec.LookPath(tool)
		require.NoError(t, err)
		require.NoError(t, os.Symlink(p, filepath.Join(bin, tool)))
	}
	_, stderr, err = buildPrint(t, "NVCC=", "PATH="+bin)
	require.Error(t, err)
	assert.Contains(t, stderr, "nvcc not found on PATH or in /usr/local/cuda/bin")
}
