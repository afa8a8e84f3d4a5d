using System.Diagnostics;
using System.Text.Json.Nodes;
using FluentAssertions;
using k8s;
using k8s.Models;
using Xunit;

namespace VpcCni.Aws.Tests.Emulation.Kubernetes;

/// <summary>
/// The real kubectl (Debian's package, found on PATH) against the emulated API server. kubectl never sees a real
/// cluster: <c>--server</c> is explicit, KUBECONFIG is /dev/null and the discovery cache is a temporary directory.
/// </summary>
public sealed class KubectlTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vpccni-kubectl-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Kubectl()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "kubectl");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("kubectl is not on PATH: install the Debian package 'kubectl' (scripts/test.sh does) to run the kubectl tests");
    }

    private async Task<(int Code, string Out, string Err)> RunAsync(KubeApi api, params string[] args)
    {
        var start = new ProcessStartInfo(Kubectl())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--server");
        start.ArgumentList.Add(api.Emulator.BaseAddress.ToString().TrimEnd('/'));
        start.ArgumentList.Add("--cache-dir");
        start.ArgumentList.Add(Path.Combine(_dir, "cache"));
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["KUBECONFIG"] = "/dev/null";
        start.Environment["HOME"] = _dir;
        start.Environment.Remove("KUBERNETES_SERVICE_HOST");
        start.Environment.Remove("KUBERNETES_SERVICE_PORT");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    private async Task<string> OkAsync(KubeApi api, params string[] args)
    {
        var (code, stdout, stderr) = await RunAsync(api, args);
        code.Should().Be(0, $"kubectl {string.Join(' ', args)} failed: {stderr}");
        return stdout;
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Apply_EniConfigYaml_CreatedListedAndReconfigured()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);
        const string Yaml = """
            apiVersion: crd.k8s.amazonaws.com/v1alpha1
            kind: ENIConfig
            metadata:
              name: us-west-2a
            spec:
              subnet: subnet-0aaa
              securityGroups: [sg-1, sg-2]
              subnets: [subnet-0aaa, subnet-0bbb]
            """;

        (await OkAsync(api, "apply", "-f", Write("eniconfig.yaml", Yaml))).Should().Contain("eniconfig.crd.k8s.amazonaws.com/us-west-2a created");
        (await OkAsync(api, "apply", "-f", Write("eniconfig.yaml", Yaml))).Should().Contain("unchanged");
        (await OkAsync(api, "apply", "-f", Write("eniconfig.yaml", Yaml.Replace("sg-2", "sg-3", StringComparison.Ordinal)))).Should().Contain("configured");
        (await OkAsync(api, "get", "eniconfigs")).Should().Contain("us-west-2a");
        var spec = JsonNode.Parse(await OkAsync(api, "get", "eniconfig", "us-west-2a", "-o", "json"))!["spec"]!;

        spec["securityGroups"]!.AsArray().Select(n => n!.GetValue<string>()).Should().Equal("sg-1", "sg-3");
        spec["subnets"]!.AsArray().Should().HaveCount(2);
        spec["subnet"]!.GetValue<string>().Should().Be("subnet-0aaa");
    }

    [Fact]
    public async Task Apply_InvalidEniConfig_ServerRejectsIt()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);
        var path = Write("bad.yaml", "apiVersion: crd.k8s.amazonaws.com/v1alpha1\nkind: ENIConfig\nmetadata:\n  name: bad\nspec:\n  securityGroups: sg-1\n");

        var (code, _, stderr) = await RunAsync(api, "apply", "-f", path);

        code.Should().NotBe(0);
        stderr.Should().Contain("spec.securityGroups");
    }

    [Fact]
    public async Task Apply_PodTwice_SecondIsAStrategicMergePatch()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);
        var yaml = $"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: default\nspec:\n  nodeName: {api.NodeName(0)}\n  containers:\n  - name: web\n    image: nginx:1\n  - name: side\n    image: busybox\n";

        await OkAsync(api, "apply", "-f", Write("pod.yaml", yaml));
        (await OkAsync(api, "apply", "-f", Write("pod.yaml", yaml.Replace("nginx:1", "nginx:2", StringComparison.Ordinal)))).Should().Contain("pod/web configured");
        var pod = await api.Client.CoreV1.ReadNamespacedPodAsync("web", "default", cancellationToken: Ct);

        pod.Spec.Containers.Select(c => $"{c.Name}={c.Image}").Should().Equal("web=nginx:2", "side=busybox");
    }

    [Fact]
    public async Task GetNodesJson_ShowsPodCapacityAndInternalIp()
    {
        await using var api = await KubeApi.StartAsync(nodes: 2);
        api.Emulator.SetNodePodCapacity(api.NodeName(1), 110);

        var nodes = JsonNode.Parse(await OkAsync(api, "get", "nodes", "-o", "json"))!["items"]!.AsArray();

        nodes.Should().HaveCount(2);
        var first = nodes.Single(n => n!["metadata"]!["name"]!.GetValue<string>() == api.NodeName(0))!;
        first["status"]!["capacity"]!["pods"]!.GetValue<string>().Should().Be("29");
        first["status"]!["addresses"]!.AsArray().Should().Contain(a => a!["type"]!.GetValue<string>() == "InternalIP"
            && a["address"]!.GetValue<string>() == api.Cluster.Nodes[0].PrivateIPv4.ToString());
        nodes.Single(n => n!["metadata"]!["name"]!.GetValue<string>() == api.NodeName(1))!["status"]!["allocatable"]!["pods"]!.GetValue<string>().Should().Be("110");
    }

    [Fact]
    public async Task GetPodsAllNamespaces_FieldSelectorOnNodeName_OnlyThatNodesPods()
    {
        await using var api = await KubeApi.StartAsync(nodes: 2);
        api.Emulator.PutPod("default", "on-first", api.NodeName(0));
        api.Emulator.PutPod("kube-system", "aws-node-x", api.NodeName(0));
        api.Emulator.PutPod("default", "on-second", api.NodeName(1));

        var output = await OkAsync(api, "get", "pods", "-A", "--field-selector", $"spec.nodeName={api.NodeName(0)}", "-o", "name");

        output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().BeEquivalentTo("pod/on-first", "pod/aws-node-x");
    }

    [Fact]
    public async Task GetEventsAllNamespaces_AndDescribePod_ShowTheEvent()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);
        api.Emulator.PutPod("default", "web", api.NodeName(0));
        var pod = await api.Client.CoreV1.ReadNamespacedPodAsync("web", "default", cancellationToken: Ct);
        await api.Client.CoreV1.CreateNamespacedEventAsync(new Corev1Event
        {
            Metadata = new V1ObjectMeta { Name = "web.17f", NamespaceProperty = "default" },
            InvolvedObject = new V1ObjectReference { Kind = "Pod", Name = "web", NamespaceProperty = "default", Uid = pod.Metadata.Uid, ApiVersion = "v1" },
            Reason = "AssignedAddress",
            Message = "assigned 10.0.0.42 from eni-1",
            Type = "Normal",
            Source = new V1EventSource { Component = "aws-node" },
            Count = 1,
            FirstTimestamp = DateTime.UtcNow,
            LastTimestamp = DateTime.UtcNow,
        }, "default", cancellationToken: Ct);

        (await OkAsync(api, "get", "events", "-A")).Should().Contain("web.17f");
        var describe = await OkAsync(api, "describe", "pod", "web");

        describe.Should().Contain("AssignedAddress").And.Contain("assigned 10.0.0.42 from eni-1").And.Contain(api.NodeName(0));
    }

    [Fact]
    public async Task Down_KubectlFails_UpItWorksAgain()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);
        api.Emulator.Available = false;

        var (code, _, stderr) = await RunAsync(api, "get", "nodes", "--request-timeout", "5s");
        api.Emulator.Available = true;

        code.Should().NotBe(0);
        stderr.Should().ContainAny("ServiceUnavailable", "503", "unavailable");
        (await OkAsync(api, "get", "nodes", "-o", "name")).Should().Contain(api.NodeName(0));
    }
}
