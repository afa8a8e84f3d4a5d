// Command cnidriver is a small CNI runtime: it drives plugins through Debian's libcni (1.1.2, spec up to 1.0.0)
// the way a container runtime does, so the project's plugin is exercised by a runtime library nobody on the team
// wrote. STATUS and GC (spec 1.1.0) are newer than that libcni; spec11.go builds those requests itself.
//
// Every call prints one JSON object on stdout and exits 0 (ok), 1 (the operation failed) or 2 (usage error).
// See usage below, or run it without arguments.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

const usage = `usage: cnidriver VERB [flags]

verbs:
  add       ADD through libcni AddNetworkList; result: the final ADD result (cached for check/del)
  check     CHECK through libcni CheckNetworkList, with the cached result as prevResult
  del       DEL through libcni DelNetworkList, plugins in reverse order, cached result as prevResult
  version   VERSION of every plugin and IPAM type named by -conflist, or of each -type
  validate  libcni ValidateNetworkList; result: {"capabilities":[...]}
  cached    the cached ADD result for -container-id/-ifname (the next CHECK/DEL's prevResult)
  status    STATUS (spec 1.1.0) to each plugin in list order, stopping at the first error
  gc        GC (spec 1.1.0): DEL for cached attachments of the network not in -valid, then GC to every plugin
  convert   libcni's result conversion: -in FILE (or -) -to VERSION; result: the converted result

flags:
  -conflist FILE       network configuration list (a single plugin .conf is accepted too)
  -plugin-dir DIRS     where plugins are, ':'-separated (default: $CNI_PATH, else /opt/cni/bin:/usr/lib/cni)
  -netns PATH          CNI_NETNS (may be empty, e.g. a DEL after the namespace is gone)
  -container-id ID     CNI_CONTAINERID (default: the last element of -netns, else "cnidriver")
  -ifname NAME         CNI_IFNAME (default eth0)
  -args 'K=V;K=V'      CNI_ARGS
  -cap-args JSON       capability arguments, handed to plugins that declare them (runtimeConfig)
  -cache-dir DIR       libcni's result cache (default /var/lib/cni)
  -cni-version V       override the conflist's cniVersion
  -type T              version: ask this plugin type (repeatable) instead of reading -conflist
  -valid CID/IFNAME    gc: attachments still in use (repeatable, or comma-separated)
  -in FILE, -to V      convert: input result JSON and the target version
  -timeout D           give up after this long (default 5m)
  -trace FILE          append one JSON line per plugin execution (CNI_* environment, stdin, stdout, error, ms)
  -pretty              indent the JSON output

output: {"ok":true,"verb":V,"elapsedMs":N,"result":...}
     or {"ok":false,"verb":V,"elapsedMs":N,"error":{"code":N,"msg":"...","details":"...","text":"..."}}
elapsedMs is the time spent in the operation itself (the libcni call and the plugin executions it makes).
error.code/msg/details come from the plugin's error object when there is one; code 0 means the error was the
runtime's own (no plugin error object), text is always the full error message.
exit: 0 ok, 1 failed, 2 usage`

// report is the single JSON object every call prints.
type report struct {
	OK        bool        `json:"ok"`
	Verb      string      `json:"verb,omitempty"`
	ElapsedMs float64     `json:"elapsedMs"`
	Result    interface{} `json:"result,omitempty"`
	// Plugins is set by version only: the answer of each plugin asked.
	Plugins []pluginVersion `json:"plugins,omitempty"`
	Error   *errorReport    `json:"error,omitempty"`
}

type errorReport struct {
	Code    uint   `json:"code"`
	Msg     string `json:"msg"`
	Details string `json:"details,omitempty"`
	Text    string `json:"text"`
}

// usageError is a mistake on the command line (exit 2), as opposed to an operation that failed (exit 1).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	if len(os.Args) >= 2 && (os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help") {
		fmt.Println(usage)
		return
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		emit(&report{Error: describe(usageError{"no verb given"})}, false)
		os.Exit(2)
	}

	verb := os.Args[1]
	opts, err := parseOptions(verb, os.Args[2:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "cnidriver: %v\n(run cnidriver without arguments for usage)\n", err)
		emit(&report{Verb: verb, Error: describe(err)}, false)
		os.Exit(2)
	}

	out := run(opts)
	emit(out.report, opts.pretty)
	os.Exit(out.exitCode)
}

type outcome struct {
	report   *report
	exitCode int
}

// run carries out one verb and turns what happened into the report.
func run(opts *options) outcome {
	d, err := newDriver(opts)
	if err != nil {
		return failed(opts.verb, 0, err)
	}
	defer d.close()

	var (
		result  interface{}
		plugins []pluginVersion
		elapsed time.Duration
	)
	switch opts.verb {
	case "add":
		result, elapsed, err = d.add()
	case "check":
		elapsed, err = d.check()
	case "del":
		elapsed, err = d.del()
	case "cached":
		result, elapsed, err = d.cached()
	case "validate":
		result, elapsed, err = d.validate()
	case "version":
		plugins, elapsed, err = d.versions()
	case "status":
		result, elapsed, err = d.status()
	case "gc":
		result, elapsed, err = d.gc()
	case "convert":
		result, elapsed, err = d.convert()
	default:
		// parseOptions has already refused unknown verbs.
		err = usageError{fmt.Sprintf("unknown verb %q", opts.verb)}
	}

	if err != nil {
		code := 1
		if _, ok := err.(usageError); ok {
			code = 2
		}
		out := failed(opts.verb, elapsed, err)
		out.report.Plugins = plugins
		out.exitCode = code
		return out
	}

	return outcome{report: &report{OK: true, Verb: opts.verb, ElapsedMs: millis(elapsed), Result: result, Plugins: plugins}, exitCode: 0}
}

func failed(verb string, elapsed time.Duration, err error) outcome {
	return outcome{report: &report{Verb: verb, ElapsedMs: millis(elapsed), Error: describe(err)}, exitCode: 1}
}

// millis rounds to microseconds so the number prints as plain decimal milliseconds.
func millis(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

func emit(r *report, pretty bool) {
	var (
		data []byte
		err  error
	)
	if pretty {
		data, err = json.MarshalIndent(r, "", "  ")
	} else {
		data, err = json.Marshal(r)
	}
	if err != nil {
		// Only a result that cannot be marshalled gets here; say so in the same shape.
		data, _ = json.Marshal(&report{Verb: r.Verb, ElapsedMs: r.ElapsedMs, Error: describe(fmt.Errorf("cannot encode the report: %w", err))})
	}
	os.Stdout.Write(append(data, '\n'))
}
