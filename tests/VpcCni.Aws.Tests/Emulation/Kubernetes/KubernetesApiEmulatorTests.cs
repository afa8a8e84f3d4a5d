using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using FluentAssertions;
using k8s;
using k8s.Autorest;
using k8s.Models;
using VpcCni.Aws.Limits;
using VpcCni.Ipam;
using Xunit;

namespace VpcCni.Aws.Tests.Emulation.Kubernetes;

/// <summary>The emulated API server seen through the real KubernetesClient: nodes, pods, events, CRDs, errors, selectors.</summary>
public sealed class KubernetesApiEmulatorTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ListNodes_TwoInstances_OneNodeEachWithLabelsAddressAndMaxPods()
    {
        await using var api = await KubeApi.StartAsync(nodes: 2, type: "m5.large");

        var nodes = await api.Client.CoreV1.ListNodeAsync(cancellationToken: Ct);

        nodes.Metadata.ResourceVersion.Should().NotBeNullOrEmpty();
        nodes.Items.Should().HaveCount(2);
        InstanceLimitsCatalog.TryGet("m5.large", out var limits).Should().BeTrue();
        foreach (var instance in api.Cluster.Nodes)
        {
            var name = $"ip-{instance.PrivateIPv4.ToString().Replace('.', '-')}.us-west-2.compute.internal";
            var node = nodes.Items.Single(n => n.Metadata.Name == name);
            node.Metadata.Labels.Should().Contain("kubernetes.io/hostname", name)
                .And.Contain("topology.kubernetes.io/zone", instance.AvailabilityZone)
                .And.Contain("node.kubernetes.io/instance-type", "m5.large");
            node.Status.Addresses.Should().ContainSingle(a => a.Type == "InternalIP" && a.Address == instance.PrivateIPv4.ToString());
            node.Status.Capacity["pods"].ToString().Should().Be(MaxPodsCalculator.SecondaryIp(limits!).ToString(System.Globalization.CultureInfo.InvariantCulture));
            node.Status.Allocatable["pods"].ToString().Should().Be("29");
            node.Metadata.Uid.Should().NotBeNullOrEmpty();
            node.Metadata.CreationTimestamp.Should().NotBeNull();
        }
    }

    [Fact]
    public async Task PatchNodeStatus_PodsCapacity_RaisedAndVisibleToReaders()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);
        var name = api.NodeName(0);
        var patch = new V1Patch("""{"status":{"capacity":{"pods":"110"},"allocatable":{"pods":"110"}}}""", V1Patch.PatchType.MergePatch);

        var patched = await api.Client.CoreV1.PatchNodeStatusAsync(patch, name, cancellationToken: Ct);
        var read = await api.Client.CoreV1.ReadNodeAsync(name, cancellationToken: Ct);

        patched.Status.Capacity["pods"].ToString().Should().Be("110");
        read.Status.Allocatable["pods"].ToString().Should().Be("110");
        read.Metadata.Labels.Should().ContainKey("kubernetes.io/hostname", "a merge patch keeps what it does not name");

        api.Emulator.SetNodePodCapacity(name, 250);
        (await api.Client.CoreV1.ReadNodeAsync(name, cancellationToken: Ct)).Status.Capacity["pods"].ToString().Should().Be("250");
    }

    [Fact]
    public async Task Pods_CreateGetListPatchDelete_RoundTrip()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);
        var pod = NewPod("web", api.NodeName(0));

        var created = await api.Client.CoreV1.CreateNamespacedPodAsync(pod, "default", cancellationToken: Ct);
        created.Metadata.Uid.Should().NotBeNullOrEmpty();
        created.Metadata.ResourceVersion.Should().NotBeNullOrEmpty();

        var patch = new V1Patch(
            """{"metadata":{"annotations":{"vpc.amazonaws.com/pod-ips":"10.0.1.7"}},"status":{"podIP":"10.0.1.7","podIPs":[{"ip":"10.0.1.7"}]}}""",
            V1Patch.PatchType.MergePatch);
        var patched = await api.Client.CoreV1.PatchNamespacedPodAsync(patch, "web", "default", cancellationToken: Ct);
        long.Parse(patched.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture)
            .Should().BeGreaterThan(long.Parse(created.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture));

        var read = await api.Client.CoreV1.ReadNamespacedPodAsync("web", "default", cancellationToken: Ct);
        read.Metadata.Annotations.Should().Contain("vpc.amazonaws.com/pod-ips", "10.0.1.7");
        read.Status.PodIP.Should().Be("10.0.1.7");
        read.Status.PodIPs.Should().ContainSingle(p => p.Ip == "10.0.1.7");
        read.Spec.NodeName.Should().Be(api.NodeName(0));
        read.Metadata.Uid.Should().Be(created.Metadata.Uid);

        (await api.Client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: Ct)).Items.Should().ContainSingle(p => p.Metadata.Name == "web");

        await api.Client.CoreV1.DeleteNamespacedPodAsync("web", "default", cancellationToken: Ct);
        (await api.Client.CoreV1.ListNamespacedPodAsync("default", cancellationToken: Ct)).Items.Should().BeEmpty();
    }

    [Fact]
    public async Task PatchPod_JsonPatch_AddsReplacesAndRemoves()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);
        api.Emulator.PutPod("default", "p", api.NodeName(0), annotations: new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" });
        var patch = new V1Patch(
            """[{"op":"add","path":"/metadata/annotations/c","value":"3"},{"op":"replace","path":"/metadata/annotations/a","value":"9"},{"op":"remove","path":"/metadata/annotations/b"}]""",
            V1Patch.PatchType.JsonPatch);

        var patched = await api.Client.CoreV1.PatchNamespacedPodAsync(patch, "p", "default", cancellationToken: Ct);

        patched.Metadata.Annotations.Should().BeEquivalentTo(new Dictionary<string, string> { ["a"] = "9", ["c"] = "3" });
    }

    [Fact]
    public async Task Errors_MissingDuplicateAndStale_AreStatusObjectsWith404And409()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);

        var missing = async () => await api.Client.CoreV1.ReadNamespacedPodAsync("nope", "default", cancellationToken: Ct);
        (await missing.Should().ThrowAsync<HttpOperationException>()).Which.Response.StatusCode.Should().Be(HttpStatusCode.NotFound);

        await api.Client.CoreV1.CreateNamespacedPodAsync(NewPod("dup", api.NodeName(0)), "default", cancellationToken: Ct);
        var duplicate = async () => await api.Client.CoreV1.CreateNamespacedPodAsync(NewPod("dup", api.NodeName(0)), "default", cancellationToken: Ct);
        var conflict = (await duplicate.Should().ThrowAsync<HttpOperationException>()).Which;
        conflict.Response.StatusCode.Should().Be(HttpStatusCode.Conflict);
        var status = JsonNode.Parse(conflict.Response.Content)!;
        status["kind"]!.GetValue<string>().Should().Be("Status");
        status["reason"]!.GetValue<string>().Should().Be("AlreadyExists");

        var current = await api.Client.CoreV1.ReadNamespacedPodAsync("dup", "default", cancellationToken: Ct);
        var staleVersion = current.Metadata.ResourceVersion;
        current.Metadata.Labels = new Dictionary<string, string> { ["v"] = "2" };
        await api.Client.CoreV1.ReplaceNamespacedPodAsync(current, "dup", "default", cancellationToken: Ct);
        current.Metadata.ResourceVersion = staleVersion;
        current.Metadata.Labels["v"] = "3";
        var stale = async () => await api.Client.CoreV1.ReplaceNamespacedPodAsync(current, "dup", "default", cancellationToken: Ct);
        var staleError = (await stale.Should().ThrowAsync<HttpOperationException>()).Which;
        staleError.Response.StatusCode.Should().Be(HttpStatusCode.Conflict);
        JsonNode.Parse(staleError.Response.Content)!["reason"]!.GetValue<string>().Should().Be("Conflict");
    }

    [Fact]
    public async Task Create_MalformedBodies_RejectedWithBadRequestOrInvalidStatus()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);

        async Task<(HttpStatusCode Code, JsonNode Body)> PostAsync(string path, string body)
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await api.Http.PostAsync(path, content, Ct);
            return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!);
        }

        var eniconfigs = "apis/crd.k8s.amazonaws.com/v1alpha1/eniconfigs";
        var notJson = await PostAsync(eniconfigs, "{not json");
        var wrongKind = await PostAsync(eniconfigs, """{"apiVersion":"crd.k8s.amazonaws.com/v1alpha1","kind":"CNINode","metadata":{"name":"a"}}""");
        var noName = await PostAsync(eniconfigs, """{"apiVersion":"crd.k8s.amazonaws.com/v1alpha1","kind":"ENIConfig","metadata":{}}""");
        var badSpec = await PostAsync(eniconfigs, """{"apiVersion":"crd.k8s.amazonaws.com/v1alpha1","kind":"ENIConfig","metadata":{"name":"a"},"spec":{"securityGroups":"sg-1"}}""");

        notJson.Code.Should().Be(HttpStatusCode.BadRequest);
        notJson.Body["reason"]!.GetValue<string>().Should().Be("BadRequest");
        wrongKind.Code.Should().Be(HttpStatusCode.BadRequest);
        noName.Code.Should().Be(HttpStatusCode.UnprocessableEntity);
        noName.Body["reason"]!.GetValue<string>().Should().Be("Invalid");
        badSpec.Code.Should().Be(HttpStatusCode.UnprocessableEntity);
        badSpec.Body["kind"]!.GetValue<string>().Should().Be("Status");
        badSpec.Body["code"]!.GetValue<int>().Should().Be(422);
    }

    [Fact]
    public async Task CustomObjects_EniConfigAndCniNode_RoundTrip()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);
        var eniConfig = new JsonObject
        {
            ["apiVersion"] = "crd.k8s.amazonaws.com/v1alpha1",
            ["kind"] = "ENIConfig",
            ["metadata"] = new JsonObject { ["name"] = "us-west-2a" },
            ["spec"] = new JsonObject
            {
                ["subnet"] = "subnet-1",
                ["securityGroups"] = new JsonArray("sg-1", "sg-2"),
                ["subnets"] = new JsonArray("subnet-1", "subnet-2"),
            },
        };
        var cniNode = new JsonObject
        {
            ["apiVersion"] = "vpcresources.k8s.aws/v1alpha1",
            ["kind"] = "CNINode",
            ["metadata"] = new JsonObject { ["name"] = api.NodeName(0) },
            ["spec"] = new JsonObject { ["features"] = new JsonArray(new JsonObject { ["name"] = "SecurityGroupsForPods", ["value"] = "" }) },
        };

        await api.Client.CustomObjects.CreateClusterCustomObjectAsync(eniConfig, "crd.k8s.amazonaws.com", "v1alpha1", "eniconfigs", cancellationToken: Ct);
        await api.Client.CustomObjects.CreateClusterCustomObjectAsync(cniNode, "vpcresources.k8s.aws", "v1alpha1", "cninodes", cancellationToken: Ct);
        var readEni = JsonNode.Parse(KubernetesJson.Serialize(
            await api.Client.CustomObjects.GetClusterCustomObjectAsync("crd.k8s.amazonaws.com", "v1alpha1", "eniconfigs", "us-west-2a", cancellationToken: Ct)))!;
        var readCni = JsonNode.Parse(KubernetesJson.Serialize(
            await api.Client.CustomObjects.GetClusterCustomObjectAsync("vpcresources.k8s.aws", "v1alpha1", "cninodes", api.NodeName(0), cancellationToken: Ct)))!;
        var list = JsonNode.Parse(KubernetesJson.Serialize(
            await api.Client.CustomObjects.ListClusterCustomObjectAsync("crd.k8s.amazonaws.com", "v1alpha1", "eniconfigs", cancellationToken: Ct)))!;

        JsonNode.DeepEquals(readEni["spec"], eniConfig["spec"]).Should().BeTrue();
        readEni["metadata"]!["uid"].Should().NotBeNull();
        JsonNode.DeepEquals(readCni["spec"], cniNode["spec"]).Should().BeTrue();
        list["kind"]!.GetValue<string>().Should().Be("ENIConfigList");
        list["items"]!.AsArray().Should().ContainSingle();
        api.Emulator.GetJson("eniconfigs", null, "us-west-2a").Should().Contain("subnet-2");
    }

    [Fact]
    public async Task Events_CreateAndListAcrossNamespaces()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);
        var ev = new Corev1Event
        {
            Metadata = new V1ObjectMeta { Name = "web.1", NamespaceProperty = "kube-system" },
            InvolvedObject = new V1ObjectReference { Kind = "Pod", Name = "web", NamespaceProperty = "kube-system" },
            Reason = "FailedCreatePodSandBox",
            Message = "no free address",
            Type = "Warning",
        };

        await api.Client.CoreV1.CreateNamespacedEventAsync(ev, "kube-system", cancellationToken: Ct);
        var all = await api.Client.CoreV1.ListEventForAllNamespacesAsync(cancellationToken: Ct);
        var other = await api.Client.CoreV1.ListNamespacedEventAsync("default", cancellationToken: Ct);

        all.Items.Should().ContainSingle(e => e.Reason == "FailedCreatePodSandBox" && e.Message == "no free address");
        other.Items.Should().BeEmpty();
    }

    [Fact]
    public async Task List_FieldAndLabelSelectors_FilterOnTheServer()
    {
        await using var api = await KubeApi.StartAsync(nodes: 2);
        api.Emulator.PutPod("default", "a", api.NodeName(0), labels: new Dictionary<string, string> { ["app"] = "x", ["tier"] = "web" });
        api.Emulator.PutPod("default", "b", api.NodeName(1), labels: new Dictionary<string, string> { ["app"] = "y" });
        api.Emulator.PutPod("kube-system", "c", api.NodeName(0), labels: new Dictionary<string, string> { ["app"] = "z" });

        async Task<string[]> Names(string? field = null, string? label = null) =>
            (await api.Client.CoreV1.ListPodForAllNamespacesAsync(fieldSelector: field, labelSelector: label, cancellationToken: Ct))
            .Items.Select(p => p.Metadata.Name).Order(StringComparer.Ordinal).ToArray();

        (await Names(field: $"spec.nodeName={api.NodeName(0)}")).Should().Equal("a", "c");
        (await Names(field: "metadata.name=b")).Should().Equal("b");
        (await Names(field: $"spec.nodeName={api.NodeName(0)},metadata.namespace!=kube-system")).Should().Equal("a");
        (await Names(label: "app=x")).Should().Equal("a");
        (await Names(label: "app in (x, z)")).Should().Equal("a", "c");
        (await Names(label: "app notin (x),!tier")).Should().Equal("b", "c");
        (await Names(label: "tier")).Should().Equal("a");
        var nodes = await api.Client.CoreV1.ListNodeAsync(labelSelector: "node.kubernetes.io/instance-type=m5.large", fieldSelector: $"metadata.name={api.NodeName(1)}", cancellationToken: Ct);
        nodes.Items.Should().ContainSingle();
    }

    [Fact]
    public async Task DownSwitch_CallsFailWith503_UpRestoresThem()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);

        api.Emulator.Available = false;
        var down = async () => await api.Client.CoreV1.ListNodeAsync(cancellationToken: Ct);
        (await down.Should().ThrowAsync<HttpOperationException>()).Which.Response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);

        api.Emulator.Available = true;
        (await api.Client.CoreV1.ListNodeAsync(cancellationToken: Ct)).Items.Should().ContainSingle();

        using (var response = await api.Http.PostAsync("emulator/kube/down", null, Ct))
        {
            response.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        (await down.Should().ThrowAsync<HttpOperationException>()).Which.Response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        using (var response = await api.Http.PostAsync("emulator/kube/up", null, Ct))
        {
            response.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        (await api.Client.CoreV1.ListNodeAsync(cancellationToken: Ct)).Items.Should().ContainSingle();
    }

    [Fact]
    public async Task Discovery_ListsCoreAndBothCrdGroups()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);

        var groups = await api.Client.Apis.GetAPIVersionsAsync(cancellationToken: Ct);
        var core = await api.Client.CoreV1.GetAPIResourcesAsync(cancellationToken: Ct);
        var version = await api.Client.Version.GetCodeAsync(cancellationToken: Ct);

        groups.Groups.Select(g => g.Name).Should().BeEquivalentTo("crd.k8s.amazonaws.com", "vpcresources.k8s.aws");
        core.Resources.Select(r => r.Name).Should().Contain(["nodes", "pods", "events", "namespaces"]);
        core.Resources.Single(r => r.Name == "pods").Namespaced.Should().BeTrue();
        version.Major.Should().Be("1");
    }

    internal static V1Pod NewPod(string name, string nodeName, IDictionary<string, string>? labels = null) => new()
    {
        ApiVersion = "v1",
        Kind = "Pod",
        Metadata = new V1ObjectMeta { Name = name, Labels = labels },
        Spec = new V1PodSpec { NodeName = nodeName, Containers = [new V1Container { Name = "app", Image = "registry.invalid/app:1" }] },
    };
}
