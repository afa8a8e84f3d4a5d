package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/types/create"
)

// driver holds what one call needs: the parsed options, the libcni runtime and the (possibly tracing) executor.
type driver struct {
	opts   *options
	ctx    context.Context
	cancel context.CancelFunc
	exec   *tracingExec
	cni    *libcni.CNIConfig
	list   *libcni.NetworkConfigList
}

func newDriver(opts *options) (*driver, error) {
	exec, err := newTracingExec(opts.trace)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), opts.timeout)
	d := &driver{
		opts:   opts,
		ctx:    ctx,
		cancel: cancel,
		exec:   exec,
		cni:    libcni.NewCNIConfigWithCacheDir(opts.pluginDirs, opts.cacheDir, exec),
	}
	if opts.conflist != "" && opts.verb != "convert" {
		if d.list, err = loadConfList(opts.conflist, opts.cniVersion); err != nil {
			d.close()
			return nil, err
		}
	}
	return d, nil
}

func (d *driver) close() {
	d.cancel()
	d.exec.close()
}

// loadConfList reads a conflist (or a single plugin configuration, which libcni lifts into a list of one),
// optionally with its cniVersion replaced.
func loadConfList(path, cniVersion string) (*libcni.NetworkConfigList, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw map[string]interface{}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if cniVersion != "" {
		raw["cniVersion"] = cniVersion
		if data, err = json.Marshal(raw); err != nil {
			return nil, err
		}
	}
	if _, isList := raw["plugins"]; isList {
		return libcni.ConfListFromBytes(data)
	}
	single, err := libcni.ConfFromBytes(data)
	if err != nil {
		return nil, err
	}
	return libcni.ConfListFromConf(single)
}

func (d *driver) runtimeConf() *libcni.RuntimeConf {
	return &libcni.RuntimeConf{
		ContainerID:    d.opts.containerID,
		NetNS:          d.opts.netns,
		IfName:         d.opts.ifname,
		Args:           d.opts.cniArgs,
		CapabilityArgs: d.opts.capArgs,
	}
}

func (d *driver) add() (interface{}, time.Duration, error) {
	start := time.Now()
	result, err := d.cni.AddNetworkList(d.ctx, d.list, d.runtimeConf())
	elapsed := time.Since(start)
	if err != nil {
		return nil, elapsed, err
	}
	raw, err := resultJSON(result)
	return raw, elapsed, err
}

func (d *driver) check() (time.Duration, error) {
	start := time.Now()
	err := d.cni.CheckNetworkList(d.ctx, d.list, d.runtimeConf())
	return time.Since(start), err
}

func (d *driver) del() (time.Duration, error) {
	start := time.Now()
	err := d.cni.DelNetworkList(d.ctx, d.list, d.runtimeConf())
	return time.Since(start), err
}

// cached answers {"found":bool,"result":...}: the stored result converted to the conflist's version.
func (d *driver) cached() (interface{}, time.Duration, error) {
	start := time.Now()
	result, err := d.cni.GetNetworkListCachedResult(d.list, d.runtimeConf())
	elapsed := time.Since(start)
	if err != nil {
		return nil, elapsed, err
	}
	answer := struct {
		Found  bool            `json:"found"`
		Result json.RawMessage `json:"result"`
	}{Found: result != nil, Result: json.RawMessage("null")}
	if result != nil {
		if answer.Result, err = resultJSON(result); err != nil {
			return nil, elapsed, err
		}
	}
	return answer, elapsed, nil
}

func (d *driver) validate() (interface{}, time.Duration, error) {
	start := time.Now()
	caps, err := d.cni.ValidateNetworkList(d.ctx, d.list)
	elapsed := time.Since(start)
	if err != nil {
		return nil, elapsed, err
	}
	sort.Strings(caps)
	return map[string]interface{}{"capabilities": caps}, elapsed, nil
}

// pluginVersion is one plugin's VERSION answer.
type pluginVersion struct {
	Type              string   `json:"type"`
	CNIVersion        string   `json:"cniVersion,omitempty"`
	SupportedVersions []string `json:"supportedVersions"`
}

// versions asks every plugin type (the list's plugins and their IPAM plugins, each once, in order) for VERSION.
func (d *driver) versions() ([]pluginVersion, time.Duration, error) {
	names := d.opts.types
	if len(names) == 0 {
		seen := map[string]bool{}
		for _, p := range d.list.Plugins {
			for _, t := range []string{p.Network.Type, p.Network.IPAM.Type} {
				if t != "" && !seen[t] {
					seen[t] = true
					names = append(names, t)
				}
			}
		}
	}

	var (
		answers []pluginVersion
		total   time.Duration
	)
	for _, name := range names {
		start := time.Now()
		info, err := d.cni.GetVersionInfo(d.ctx, name)
		total += time.Since(start)
		if err != nil {
			return answers, total, fmt.Errorf("plugin type=%q (version): %w", name, err)
		}
		// PluginInfo hides the answer's cniVersion; its encoding has it.
		var buf bytes.Buffer
		answer := pluginVersion{Type: name, SupportedVersions: info.SupportedVersions()}
		if info.Encode(&buf) == nil {
			var decoded struct {
				CNIVersion string `json:"cniVersion"`
			}
			if json.Unmarshal(buf.Bytes(), &decoded) == nil {
				answer.CNIVersion = decoded.CNIVersion
			}
		}
		answers = append(answers, answer)
	}
	return answers, total, nil
}

// convert runs libcni's own converters: the input's version is read from its cniVersion (0.1.0 when absent).
func (d *driver) convert() (interface{}, time.Duration, error) {
	var (
		data []byte
		err  error
	)
	if d.opts.in == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(d.opts.in)
	}
	if err != nil {
		return nil, 0, err
	}
	start := time.Now()
	result, err := create.CreateFromBytes(data)
	if err == nil {
		result, err = result.GetAsVersion(d.opts.to)
	}
	elapsed := time.Since(start)
	if err != nil {
		return nil, elapsed, err
	}
	raw, err := resultJSON(result)
	return raw, elapsed, err
}

// resultJSON is the result as libcni encodes it (what a plugin further down the chain would get as prevResult).
func resultJSON(result types.Result) (json.RawMessage, error) {
	data, err := json.Marshal(result)
	if err != nil {
		return nil, fmt.Errorf("cannot encode the result: %w", err)
	}
	return json.RawMessage(data), nil
}

// describe maps an error to the report's error object. A plugin's error object (possibly wrapped by libcni's
// "plugin type=... failed" context) gives code/msg/details; any other error is the runtime's own: code 0.
func describe(err error) *errorReport {
	out := &errorReport{Msg: err.Error(), Text: err.Error()}
	var cniErr *types.Error
	if errors.As(err, &cniErr) && cniErr != nil {
		out.Code, out.Msg, out.Details = cniErr.Code, cniErr.Msg, cniErr.Details
	}
	if out.Msg == "" {
		out.Msg = strings.TrimSpace(out.Text)
	}
	return out
}
