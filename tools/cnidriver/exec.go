package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/version"
)

// tracingExec is libcni's default executor, optionally logging every plugin execution to a JSON-lines file.
type tracingExec struct {
	inner *invoke.DefaultExec
	mu    sync.Mutex
	file  *os.File
}

var _ invoke.Exec = (*tracingExec)(nil)

func newTracingExec(tracePath string) (*tracingExec, error) {
	t := &tracingExec{inner: &invoke.DefaultExec{
		RawExec:       &invoke.RawExec{Stderr: os.Stderr},
		PluginDecoder: version.PluginDecoder{},
	}}
	if tracePath != "" {
		f, err := os.OpenFile(tracePath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		t.file = f
	}
	return t, nil
}

func (t *tracingExec) close() {
	if t.file != nil {
		t.file.Close()
	}
}

func (t *tracingExec) FindInPath(plugin string, paths []string) (string, error) {
	return t.inner.FindInPath(plugin, paths)
}

func (t *tracingExec) Decode(data []byte) (version.PluginInfo, error) {
	return t.inner.Decode(data)
}

func (t *tracingExec) ExecPlugin(ctx context.Context, pluginPath string, stdin []byte, environ []string) ([]byte, error) {
	start := time.Now()
	stdout, err := t.inner.ExecPlugin(ctx, pluginPath, stdin, environ)
	if t.file != nil {
		t.record(pluginPath, stdin, environ, stdout, err, time.Since(start))
	}
	return stdout, err
}

// traceLine is one plugin execution as written to the -trace file.
type traceLine struct {
	Time    string            `json:"time"`
	Plugin  string            `json:"plugin"`
	Command string            `json:"command"`
	Env     map[string]string `json:"env"`
	Stdin   json.RawMessage   `json:"stdin"`
	Stdout  json.RawMessage   `json:"stdout,omitempty"`
	Error   *errorReport      `json:"error,omitempty"`
	Ms      float64           `json:"ms"`
}

func (t *tracingExec) record(plugin string, stdin []byte, environ []string, stdout []byte, err error, elapsed time.Duration) {
	line := traceLine{
		Time:   time.Now().UTC().Format(time.RFC3339Nano),
		Plugin: plugin,
		Env:    map[string]string{},
		Stdin:  asJSON(stdin),
		Ms:     millis(elapsed),
	}
	for _, kv := range environ {
		if eq := strings.Index(kv, "="); eq > 0 && strings.HasPrefix(kv, "CNI_") {
			line.Env[kv[:eq]] = kv[eq+1:]
		}
	}
	line.Command = line.Env["CNI_COMMAND"]
	if len(stdout) > 0 {
		line.Stdout = asJSON(stdout)
	}
	if err != nil {
		line.Error = describe(err)
	}
	data, mErr := json.Marshal(&line)
	if mErr != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.file.Write(append(data, '\n'))
}

// asJSON keeps valid JSON as it is and turns anything else into a JSON string.
func asJSON(data []byte) json.RawMessage {
	if json.Valid(data) {
		return json.RawMessage(data)
	}
	quoted, _ := json.Marshal(string(data))
	return json.RawMessage(quoted)
}
