//go:build cgo

package realsense

// #include <stdlib.h>
// #include "rs2.h"
import "C"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// apiVersion is the librealsense API this package is written against, in
// rs2's encoding (major*10000 + minor*100 + patch): rs2_create_context fails
// when the loaded library's minor is older than this, and accepts newer ones.
const apiVersion = 25000

// LibraryEnv names the environment variable that overrides where
// librealsense2 is loaded from: a library file (librealsense2.so.2.58, or a
// pyrealsense2 extension module, which has the library linked in), or a
// folder holding one (a pip-installed pyrealsense2 folder).
const LibraryEnv = "REALSENSE_LIB"

// installHint tells a user what to install; every "library missing" error
// ends with it.
const installHint = "install librealsense2 (pip install pyrealsense2 on x86_64, or the librealsense2 package from the RealSense apt repository) or set " + LibraryEnv + " to the library's path"

// ErrNoLibrary is returned (wrapped) by every function of this package when
// librealsense2 cannot be loaded or is too old.
var ErrNoLibrary = errors.New("librealsense2 not available")

var lib struct {
	mu      sync.Mutex
	loaded  bool
	path    string
	version int
}

// sonames the loader tries when REALSENSE_LIB is not set, newest first: the
// soname carries the minor version (librealsense2.so.2.58).
func sonames() []string {
	var names []string
	for minor := 69; minor >= 50; minor-- {
		names = append(names, fmt.Sprintf("librealsense2.so.2.%d", minor))
	}
	return append(names, "librealsense2.so")
}

// load opens librealsense2 once per process. A failure is not cached, so a
// later call can succeed after REALSENSE_LIB changes.
func load() error {
	lib.mu.Lock()
	defer lib.mu.Unlock()
	if lib.loaded {
		return nil
	}
	var candidates []string
	if env := os.Getenv(LibraryEnv); env != "" {
		files, err := libraryFiles(env)
		if err != nil {
			return fmt.Errorf("realsense: %w: %s=%s: %v; %s", ErrNoLibrary, LibraryEnv, env, err, installHint)
		}
		candidates = files
	} else {
		candidates = sonames()
		if dir := pipPackageDir(); dir != "" {
			if files, err := libraryFiles(dir); err == nil {
				candidates = append(candidates, files...)
			}
		}
	}
	var tried []string
	for _, c := range candidates {
		err := loadFile(c)
		if err == nil {
			break
		}
		if errors.Is(err, errTooOld) {
			return fmt.Errorf("realsense: %w: %s: %v; %s", ErrNoLibrary, c, err, installHint)
		}
		tried = append(tried, err.Error())
	}
	if !lib.loaded {
		if os.Getenv(LibraryEnv) != "" {
			return fmt.Errorf("realsense: %w: %s=%s: %s; %s", ErrNoLibrary, LibraryEnv, os.Getenv(LibraryEnv), strings.Join(tried, "; "), installHint)
		}
		return fmt.Errorf("realsense: %w: tried %s and a pip-installed pyrealsense2; %s", ErrNoLibrary, strings.Join(sonames(), ", "), installHint)
	}
	v, err := apiVersionLoaded()
	if err != nil {
		return err
	}
	if v < apiVersion {
		return fmt.Errorf("realsense: %w: %s is version %s, need 2.50 or newer; %s", ErrNoLibrary, lib.path, formatVersion(v), installHint)
	}
	lib.version = v
	return nil
}

var errTooOld = errors.New("library too old")

// pyExtension matches a CPython extension module's name and captures its
// Python version: pyrealsense2.cpython-311-x86_64-linux-gnu.so.
var pyExtension = regexp.MustCompile(`^pyrealsense2\.cpython-(\d)(\d+)-.*\.so`)

// loadFile tries one library file. pyrealsense2's wheels link librealsense
// statically into their extension module, which exports the whole rs2_* C
// API but also needs libpython's symbols: those are made global first
// (libpython is loaded, never initialized).
func loadFile(path string) error {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var msg [512]C.char
	var rc C.int
	if m := pyExtension.FindStringSubmatch(filepath.Base(path)); m != nil {
		var errs []string
		for _, py := range []string{"libpython" + m[1] + "." + m[2] + ".so.1.0", "libpython" + m[1] + "." + m[2] + ".so"} {
			cpy := C.CString(py)
			rc = C.crs_load(cpath, cpy, &msg[0], C.size_t(len(msg)))
			C.free(unsafe.Pointer(cpy))
			if rc != -1 {
				break
			}
			errs = append(errs, C.GoString(&msg[0]))
		}
		if rc == -1 {
			return fmt.Errorf("%s (a pyrealsense2 module needs libpython%s.%s: apt-get install libpython%s.%s)", strings.Join(errs, "; "), m[1], m[2], m[1], m[2])
		}
	} else {
		rc = C.crs_load(cpath, nil, &msg[0], C.size_t(len(msg)))
	}
	switch rc {
	case 0:
		lib.loaded, lib.path = true, path
		return nil
	case -2:
		return fmt.Errorf("%w: it lacks %s (need 2.50 or newer)", errTooOld, C.GoString(&msg[0]))
	}
	return errors.New(C.GoString(&msg[0]))
}

// libraryFiles expands REALSENSE_LIB: a file is used as is, a folder is
// searched for librealsense2.so* and then pyrealsense2's extension module.
func libraryFiles(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	var out []string
	for _, pat := range []string{"librealsense2.so*", "pyrealsense2.cpython-*.so"} {
		m, _ := filepath.Glob(filepath.Join(p, pat))
		sort.Sort(sort.Reverse(sort.StringSlice(m)))
		out = append(out, m...)
	}
	if len(out) == 0 {
		return nil, errors.New("no librealsense2.so* or pyrealsense2.cpython-*.so in this folder")
	}
	return out, nil
}

// pipPackageDir asks python3 where pyrealsense2 is installed, without
// importing it; "" when python3 or the package is missing.
func pipPackageDir() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "python3", "-c",
		"import importlib.util as u; s = u.find_spec('pyrealsense2'); print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func apiVersionLoaded() (int, error) {
	var e *C.rs2_error
	v := C.crs_get_api_version(&e)
	if err := rsError("get api version", e); err != nil {
		return 0, err
	}
	return int(v), nil
}

func formatVersion(v int) string {
	return fmt.Sprintf("%d.%d.%d", v/10000, v/100%100, v%100)
}

// Version returns the loaded librealsense2's version ("2.58.2") and the
// file it was loaded from, loading it if needed.
func Version() (version, path string, err error) {
	if err := load(); err != nil {
		return "", "", err
	}
	return formatVersion(lib.version), lib.path, nil
}

// ExceptionType is librealsense's classification of an error.
type ExceptionType int

// The exception types this package tells apart (rs2_exception_type).
const (
	ExceptionUnknown            ExceptionType = 0
	ExceptionCameraDisconnected ExceptionType = 1
	ExceptionBackend            ExceptionType = 2
	ExceptionInvalidValue       ExceptionType = 3
	ExceptionWrongCallSequence  ExceptionType = 4
	ExceptionNotImplemented     ExceptionType = 5
	ExceptionRecoveryMode       ExceptionType = 6
	ExceptionIO                 ExceptionType = 7
)

// ErrDisconnected matches (errors.Is) an Error whose type is
// ExceptionCameraDisconnected: the device went away.
var ErrDisconnected = errors.New("camera disconnected")

// Error is a failed librealsense call: what this package was doing, the C
// function that failed with its arguments, and the library's message.
type Error struct {
	Op       string
	Function string
	Args     string
	Message  string
	Type     ExceptionType
}

func (e *Error) Error() string {
	s := "realsense: " + e.Op + ": " + e.Message
	if e.Function != "" {
		s += " (" + e.Function + "(" + e.Args + "))"
	}
	return s
}

// Is reports whether target is ErrDisconnected and e is a disconnection.
func (e *Error) Is(target error) bool {
	return target == ErrDisconnected && e.Type == ExceptionCameraDisconnected
}

// rsError turns an rs2_error into an *Error and frees it; nil stays nil.
// Every call into librealsense that takes an rs2_error** goes through here.
func rsError(op string, e *C.rs2_error) error {
	if e == nil {
		return nil
	}
	err := &Error{
		Op:       op,
		Function: C.GoString(C.crs_get_failed_function(e)),
		Args:     C.GoString(C.crs_get_failed_args(e)),
		Message:  C.GoString(C.crs_get_error_message(e)),
		Type:     ExceptionType(C.crs_get_librealsense_exception_type(e)),
	}
	C.crs_free_error(e)
	return err
}

// enumString names an enum value with the loaded library's *_to_string
// (TestEnumValues checks consts.go with it).
func enumString(kind string, v int) string {
	switch kind {
	case "stream":
		return cString(C.crs_stream_to_string(C.int(v)))
	case "format":
		return cString(C.crs_format_to_string(C.int(v)))
	case "info":
		return cString(C.crs_camera_info_to_string(C.int(v)))
	case "option":
		return cString(C.crs_option_to_string(C.int(v)))
	case "playback":
		return cString(C.crs_playback_status_to_string(C.int(v)))
	case "exception":
		return cString(C.crs_exception_type_to_string(C.int(v)))
	}
	return ""
}
