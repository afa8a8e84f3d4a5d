package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

type options struct {
	verb        string
	conflist    string
	pluginDirs  []string
	netns       string
	containerID string
	ifname      string
	cniArgs     [][2]string
	capArgs     map[string]interface{}
	cacheDir    string
	cniVersion  string
	types       []string
	valid       []attachment
	in          string
	to          string
	timeout     time.Duration
	trace       string
	pretty      bool
}

// attachment is one (container, interface) pair, in the shape GC requests carry.
type attachment struct {
	ContainerID string `json:"containerID"`
	IfName      string `json:"ifname"`
}

// listFlag collects a repeatable flag whose values may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(value string) error {
	for _, part := range strings.Split(value, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

var verbs = map[string]bool{
	"add": true, "check": true, "del": true, "version": true, "validate": true,
	"cached": true, "status": true, "gc": true, "convert": true,
}

func parseOptions(verb string, args []string) (*options, error) {
	if !verbs[verb] {
		return nil, usageError{fmt.Sprintf("unknown verb %q", verb)}
	}

	fs := flag.NewFlagSet("cnidriver "+verb, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		o                                       = &options{verb: verb}
		pluginDir, argsText, capArgsText, netns string
		types, valid                            listFlag
	)
	fs.StringVar(&o.conflist, "conflist", "", "")
	fs.StringVar(&pluginDir, "plugin-dir", "", "")
	fs.StringVar(&netns, "netns", "", "")
	fs.StringVar(&o.containerID, "container-id", "", "")
	fs.StringVar(&o.ifname, "ifname", "eth0", "")
	fs.StringVar(&argsText, "args", "", "")
	fs.StringVar(&capArgsText, "cap-args", "", "")
	fs.StringVar(&o.cacheDir, "cache-dir", "", "")
	fs.StringVar(&o.cniVersion, "cni-version", "", "")
	fs.Var(&types, "type", "")
	fs.Var(&valid, "valid", "")
	fs.StringVar(&o.in, "in", "", "")
	fs.StringVar(&o.to, "to", "", "")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "")
	fs.StringVar(&o.trace, "trace", "", "")
	fs.BoolVar(&o.pretty, "pretty", false, "")
	if err := fs.Parse(args); err != nil {
		return nil, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return nil, usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}

	o.netns = netns
	o.types = types
	if pluginDir == "" {
		pluginDir = os.Getenv("CNI_PATH")
	}
	if pluginDir == "" {
		pluginDir = "/opt/cni/bin:/usr/lib/cni"
	}
	for _, dir := range filepath.SplitList(pluginDir) {
		if dir == "" {
			continue
		}
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		o.pluginDirs = append(o.pluginDirs, dir)
	}

	if o.containerID == "" {
		o.containerID = "cnidriver"
		if netns != "" {
			o.containerID = filepath.Base(netns)
		}
	}

	pairs, err := parseCniArgs(argsText)
	if err != nil {
		return nil, err
	}
	o.cniArgs = pairs

	if capArgsText != "" {
		if err := json.Unmarshal([]byte(capArgsText), &o.capArgs); err != nil || o.capArgs == nil {
			return nil, usageError{fmt.Sprintf("-cap-args must be a JSON object: %q", capArgsText)}
		}
	}

	for _, v := range valid {
		slash := strings.LastIndex(v, "/")
		if slash <= 0 || slash == len(v)-1 {
			return nil, usageError{fmt.Sprintf("-valid %q: want CONTAINERID/IFNAME", v)}
		}
		o.valid = append(o.valid, attachment{ContainerID: v[:slash], IfName: v[slash+1:]})
	}
	if o.timeout <= 0 {
		return nil, usageError{"-timeout must be positive"}
	}

	switch verb {
	case "convert":
		if o.in == "" || o.to == "" {
			return nil, usageError{"convert needs -in FILE and -to VERSION"}
		}
	case "version":
		if o.conflist == "" && len(o.types) == 0 {
			return nil, usageError{"version needs -conflist FILE or -type T"}
		}
	default:
		if o.conflist == "" {
			return nil, usageError{verb + " needs -conflist FILE"}
		}
	}
	return o, nil
}

// parseCniArgs reads 'K=V;K=V' into libcni's pairs; empty segments are skipped.
func parseCniArgs(text string) ([][2]string, error) {
	var pairs [][2]string
	for _, part := range strings.Split(text, ";") {
		if part == "" {
			continue
		}
		eq := strings.Index(part, "=")
		if eq <= 0 {
			return nil, usageError{fmt.Sprintf("-args: %q is not KEY=VALUE", part)}
		}
		pairs = append(pairs, [2]string{part[:eq], part[eq+1:]})
	}
	return pairs, nil
}
