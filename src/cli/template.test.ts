// Go templates as docker's --format takes them: what docker users write, printed as Go prints it.
import { describe, expect, it } from 'vitest';
import { renderTemplate as r } from './template.js';

const doc = {
  Name: '/web',
  State: { Status: 'running', Running: true, ExitCode: 0 },
  Config: { Labels: { 'com.docker.compose.service': 'web', tier: 'front' }, Env: ['A=1', 'B=2'], Cmd: null },
  Mounts: [{ Source: '/srv', Destination: '/app' }, { Source: '/data', Destination: '/data' }],
  Empty: [],
};

describe('Go templates for --format', () => {
  it('fields, json, and values as Go prints them', () => {
    expect(r('{{.State.Status}} {{.State.Running}} {{.State.ExitCode}}', doc)).toBe('running true 0');
    expect(r('{{json .State}}', doc)).toBe('{"Status":"running","Running":true,"ExitCode":0}');
    expect(r('{{.Config.Labels}}', doc)).toBe('map[com.docker.compose.service:web tier:front]');
    expect(r('{{.Config.Env}}|{{.Config.Cmd}}|{{.Nope}}', doc)).toBe('[A=1 B=2]|<nil>|<no value>');
    expect(r('{{.Name}}\\n', doc)).toBe('/web\n');
  });

  it('index, range with and without variables, if/else, with, and the functions docker adds', () => {
    expect(r('{{index .Config.Labels "com.docker.compose.service"}}', doc)).toBe('web');
    expect(r('{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}', doc)).toBe('/srv:/app /data:/data ');
    expect(r('{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}', doc)).toBe('com.docker.compose.service=web;tier=front;');
    expect(r('{{range $i, $m := .Mounts}}{{$i}}{{$m.Source}}{{end}}', doc)).toBe('0/srv1/data');
    expect(r('{{range .Empty}}x{{else}}none{{end}}', doc)).toBe('none');
    expect(r('{{if .State.Running}}up{{else}}down{{end}} {{if .Empty}}y{{else}}n{{end}}', doc)).toBe('up n');
    expect(r('{{with .State}}{{.Status}}{{end}}{{with .Empty}}x{{else}}-{{end}}', doc)).toBe('running-');
    expect(r('{{join .Config.Env ","}} {{upper .State.Status}} {{len .Mounts}} {{.Name | lower}}', doc)).toBe('A=1,B=2 RUNNING 2 /web');
    expect(r('{{printf "%s=%d" .State.Status .State.ExitCode}} {{eq .State.Status "running"}} {{not .State.Running}}', doc)).toBe('running=0 true false');
    expect(r('{{(index .Mounts 1).Source}}', doc)).toBe('/data');
    expect(r('{{range .Mounts -}}  {{ .Source }}  {{- end}}', doc)).toBe('/srv/data');
  });

  it('a method of the value (ps\'s .Label "k") is called with its arguments', () => {
    expect(r('{{.Label "tier"}}', { Label: (k: unknown) => `v-${String(k)}` })).toBe('v-tier');
  });

  it('refuses what docker would, by name, before printing anything', () => {
    expect(() => r('{{bogus .Name}}', doc)).toThrow(/no function `bogus`/);
    expect(() => r('{{range .Mounts}}x', doc)).toThrow(/\{\{range\}\} without its \{\{end\}\}/);
    expect(() => r('{{end}}', doc)).toThrow(/\{\{end\}\} without an if, range or with/);
    expect(() => r('{{$x}}', doc)).toThrow(/undefined variable `\$x`/);
    expect(() => r('{{.Name "arg"}}', doc)).toThrow(/not a function/);
  });
});
