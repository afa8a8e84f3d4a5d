package main

// STATUS and GC (CNI spec 1.1.0) are newer than Debian's libcni 1.1.2, so the requests are built here from
// libcni's pieces (InjectConf for the request configuration, the executor for the plugin run), following the
// spec and what newer upstream libcni sends:
//   - both verbs are only sent when the configuration's cniVersion is 1.1.0 or later;
//   - the environment carries CNI_COMMAND and CNI_PATH only (no container, netns or interface);
//   - stdin is the plugin's object with the list's name and cniVersion injected;
//   - STATUS asks the plugins in list order and stops at the first error;
//   - GC first DELs every cached attachment of the network that is not in the valid list (from its cached
//     configuration), then sends GC to every plugin in list order, going on past errors, with the valid list under
//     "cni.dev/valid-attachments" and, identical, under the key the 1.1.0 text first used, "cni.dev/attachments".

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/version"
)

const specWithStatusAndGC = "1.1.0"

// atLeast110 reports whether the list's version has STATUS and GC; an absent version is 0.1.0.
func (d *driver) atLeast110() (bool, error) {
	v := d.list.CNIVersion
	if v == "" {
		v = "0.1.0"
	}
	return version.GreaterThanOrEqualTo(v, specWithStatusAndGC)
}

func (d *driver) pluginEnv(command string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CNI_") {
			env = append(env, kv)
		}
	}
	return append(env, "CNI_COMMAND="+command, "CNI_PATH="+strings.Join(d.opts.pluginDirs, string(os.PathListSeparator)))
}

// execVerb runs one plugin of the list with a command that has no result (STATUS, GC).
func (d *driver) execVerb(command string, plugin *libcni.NetworkConfig, extra map[string]interface{}) error {
	path, err := d.exec.FindInPath(plugin.Network.Type, d.opts.pluginDirs)
	if err != nil {
		return err
	}
	inject := map[string]interface{}{"name": d.list.Name, "cniVersion": d.list.CNIVersion}
	for k, v := range extra {
		inject[k] = v
	}
	conf, err := libcni.InjectConf(plugin, inject)
	if err != nil {
		return err
	}
	_, err = d.exec.ExecPlugin(d.ctx, path, conf.Bytes, d.pluginEnv(command))
	return err
}

func describePlugin(plugin *libcni.NetworkConfig) string {
	return fmt.Sprintf("type=%q", plugin.Network.Type)
}

// status answers {"asked":[types]} or, below 1.1.0, {"skipped":"why"} without running anything.
func (d *driver) status() (interface{}, time.Duration, error) {
	ok, err := d.atLeast110()
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		return map[string]string{"skipped": fmt.Sprintf("STATUS needs cniVersion %s or later; the list has %q", specWithStatusAndGC, d.list.CNIVersion)}, 0, nil
	}
	start := time.Now()
	asked := []string{}
	for _, plugin := range d.list.Plugins {
		asked = append(asked, plugin.Network.Type)
		if err := d.execVerb("STATUS", plugin, nil); err != nil {
			return nil, time.Since(start), fmt.Errorf("plugin %s failed (status): %w", describePlugin(plugin), err)
		}
	}
	return map[string]interface{}{"asked": asked}, time.Since(start), nil
}

// gcErrors keeps going past failures and reports them all; the first one is what errors.As finds.
type gcErrors []error

func (e gcErrors) Error() string {
	parts := make([]string, len(e))
	for i, err := range e {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

func (e gcErrors) Unwrap() error { return e[0] }

type gcResult struct {
	Deleted []attachment `json:"deleted"`
	Asked   []string     `json:"asked"`
	Skipped string       `json:"skipped,omitempty"`
}

func (d *driver) gc() (interface{}, time.Duration, error) {
	start := time.Now()
	result := gcResult{Deleted: []attachment{}, Asked: []string{}}
	var errs gcErrors

	validSet := map[attachment]bool{}
	valid := []attachment{}
	for _, a := range d.opts.valid {
		if !validSet[a] {
			validSet[a] = true
			valid = append(valid, a)
		}
	}

	stale, err := d.cachedAttachments()
	if err != nil {
		errs = append(errs, err)
	}
	for _, a := range stale {
		if validSet[a] {
			continue
		}
		if err := d.delFromCache(a); err != nil {
			errs = append(errs, fmt.Errorf("DEL of stale attachment %s/%s: %w", a.ContainerID, a.IfName, err))
			continue
		}
		result.Deleted = append(result.Deleted, a)
	}

	ok, err := d.atLeast110()
	switch {
	case err != nil:
		errs = append(errs, err)
	case !ok:
		result.Skipped = fmt.Sprintf("GC needs cniVersion %s or later; the list has %q (stale attachments were still deleted)", specWithStatusAndGC, d.list.CNIVersion)
	default:
		attachments := map[string]interface{}{"cni.dev/valid-attachments": valid, "cni.dev/attachments": valid}
		for _, plugin := range d.list.Plugins {
			result.Asked = append(result.Asked, plugin.Network.Type)
			if err := d.execVerb("GC", plugin, attachments); err != nil {
				errs = append(errs, fmt.Errorf("plugin %s failed (gc): %w", describePlugin(plugin), err))
			}
		}
	}

	elapsed := time.Since(start)
	if len(errs) > 0 {
		return nil, elapsed, errs
	}
	return result, elapsed, nil
}

// cacheEntry is the part of libcni's cache file ("cniCacheV1") that GC needs.
type cacheEntry struct {
	Kind        string `json:"kind"`
	ContainerID string `json:"containerId"`
	IfName      string `json:"ifName"`
	NetworkName string `json:"networkName"`
}

// cachedAttachments lists the attachments libcni's cache holds for this network, sorted.
func (d *driver) cachedAttachments() ([]attachment, error) {
	dir := d.opts.cacheDir
	if dir == "" {
		dir = libcni.CacheDir
	}
	files, err := os.ReadDir(filepath.Join(dir, "results"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var found []attachment
	for _, f := range files {
		if f.IsDir() || !strings.HasPrefix(f.Name(), d.list.Name+"-") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, "results", f.Name()))
		if err != nil {
			continue
		}
		var entry cacheEntry
		if json.Unmarshal(data, &entry) != nil || entry.Kind != libcni.CNICacheV1 || entry.NetworkName != d.list.Name ||
			entry.ContainerID == "" || entry.IfName == "" {
			continue
		}
		found = append(found, attachment{ContainerID: entry.ContainerID, IfName: entry.IfName})
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].ContainerID != found[j].ContainerID {
			return found[i].ContainerID < found[j].ContainerID
		}
		return found[i].IfName < found[j].IfName
	})
	return found, nil
}

// delFromCache DELs an attachment as it was added: with the cached configuration list, CNI_ARGS and capability
// arguments, and no network namespace (a stale container's namespace is assumed gone).
func (d *driver) delFromCache(a attachment) error {
	rt := &libcni.RuntimeConf{ContainerID: a.ContainerID, IfName: a.IfName}
	list := d.list
	confBytes, cachedRt, err := d.cni.GetNetworkListCachedConfig(d.list, rt)
	if err != nil {
		return err
	}
	if cachedRt != nil {
		rt = cachedRt
	}
	if len(confBytes) > 0 {
		if cachedList, err := libcni.ConfListFromBytes(confBytes); err == nil {
			list = cachedList
		}
	}
	return d.cni.DelNetworkList(d.ctx, list, rt)
}
