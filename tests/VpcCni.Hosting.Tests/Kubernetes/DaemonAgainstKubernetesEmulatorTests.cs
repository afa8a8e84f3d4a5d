using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using VpcCni.Aws.Emulation.Kubernetes;
using VpcCni.Aws.Simulation;
using VpcCni.Hosting.Daemon;
using VpcCni.Hosting.Kubernetes;
using VpcCni.Hosting.Rpc;
using VpcCni.Hosting.Tests.Daemon;
using VpcCni.Ipam;

namespace VpcCni.Hosting.Tests.Kubernetes;

/// <summary>
/// The daemon as AddVpcCniDaemon composes it, with its real Kubernetes client against the emulator's Kubernetes API
/// (served over loopback HTTP): node capacity as max pods, the pod-IP annotation, and ADDs served while the API is down.
/// </summary>
public sealed class DaemonAgainstKubernetesEmulatorTests : IAsyncDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly string _directory = Directory.CreateTempSubdirectory("vpccni-kube-daemon-").FullName;
    private readonly SimulatedCluster _cluster = SimulatedCluster.Create("m5.large");
    private KubernetesApiEmulator? _api;
    private IpamdNode? _node;

    public async ValueTask DisposeAsync()
    {
        if (_node is not null)
        {
            await _node.StopAsync(CancellationToken.None);
            await _node.DisposeAsync();
        }

        if (_api is not null)
        {
            await _api.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }

    private async Task<(KubernetesApiEmulator Api, string NodeName)> StartApiAsync()
    {
        // Port 0: Kestrel binds a free port itself, so no other process can take it between probe and bind.
        var api = new KubernetesApiEmulator(_cluster.Vpc, "http://127.0.0.1:0/");
        try
        {
            api.Start();
        }
        catch
        {
            await api.DisposeAsync();
            throw;
        }

        _api = api;
        return (api, api.NodeName(_cluster.Nodes[0]));
    }

    private async Task<IpamdNode> StartNodeAsync(
        KubernetesApiEmulator api, string nodeName, bool annotate, bool prefixDelegation = false, bool customNetworking = false, TimeSpan? initialSync = null)
    {
        var settings = new DaemonSettings
        {
            Cloud = CloudKind.Simulated,
            ManageHostNetwork = false,
            CheckpointPath = Path.Combine(_directory, "ipam.json"),
            Ipam = new IpamOptions { EnablePrefixDelegation = prefixDelegation, WarmPrefixTarget = prefixDelegation ? 1 : 0, UseCustomNetworking = customNetworking },
            Kubernetes = new KubernetesApiSettings
            {
                NodeName = nodeName,
                AnnotatePodIp = annotate,
                CustomNetworking = customNetworking,
                EniConfigLabelKey = ZoneLabel,
                InitialSyncTimeout = initialSync ?? TimeSpan.FromSeconds(30),
            }.WithServer(api.BaseAddress),
        };
        _node = DaemonNodes.Create(new SimulatedEniProvider(_cluster.Vpc, _cluster.Nodes[0].InstanceId), settings, new NoNodeNetwork(), TimeProvider.System);
        await _node.StartAsync(Ct);
        return _node;
    }

    private static AddNetworkRequest Add(string pod) =>
        new() { NetworkName = "aws-cni", ContainerID = $"c-{pod}", IfName = "eth0", K8SPODNAMESPACE = "default", K8SPODNAME = pod };

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(50, Ct);
        }

        condition().Should().BeTrue($"{what} within 10 s");
    }

    [Fact]
    public async Task StartAsync_NodeCapacityInTheApi_IsMaxPodsAndAWatchedChangeFollows()
    {
        var (api, nodeName) = await StartApiAsync();
        api.SetNodePodCapacity(nodeName, 17);

        var node = await StartNodeAsync(api, nodeName, annotate: false);

        node.Controller.Limits.MaxPods.Should().Be(17, "the kubelet's pod capacity replaces m5.large's 29");
        api.SetNodePodCapacity(nodeName, 21);
        await WaitUntilAsync(() => node.Controller.Limits.MaxPods == 21, "the watched capacity");
    }

    [Fact]
    public async Task AddNetworkAsync_PrefixDelegationWithNodeCapacity110_ServesThe40PodsPlanSays()
    {
        // The same case as DaemonCliTests.Plan_PrefixDelegationWithTheNodesPodCapacity_ServesUpToIt: plan and daemon agree.
        var (api, nodeName) = await StartApiAsync();
        api.SetNodePodCapacity(nodeName, 110);
        var node = await StartNodeAsync(api, nodeName, annotate: false, prefixDelegation: true);

        var served = 0;
        for (var i = 0; i < 40; i++)
        {
            var reply = await node.AddNetworkAsync(Add($"pd-{i}"), Ct);
            reply.Success.Should().BeTrue(reply.FailureReason);
            served++;
        }

        served.Should().Be(40);
        node.Controller.Limits.MaxPods.Should().Be(110);
    }

    [Fact]
    public async Task AddNetworkAsync_AnnotatePodIp_PatchesThePodInTheApi()
    {
        var (api, nodeName) = await StartApiAsync();
        api.PutPod("default", "web-0", nodeName);
        var node = await StartNodeAsync(api, nodeName, annotate: true);

        var reply = await node.AddNetworkAsync(Add("web-0"), Ct);

        reply.Success.Should().BeTrue(reply.FailureReason);
        var address = reply.IPAllocationMetadata[0].IPv4Addr;
        await WaitUntilAsync(() => Annotation(api, "web-0") == address, "the vpc.amazonaws.com/pod-ips annotation");
    }

    [Fact]
    public async Task AddNetworkAsync_ApiDownMidRun_IsStillServedFromThePool()
    {
        var (api, nodeName) = await StartApiAsync();
        var node = await StartNodeAsync(api, nodeName, annotate: false);

        api.Available = false;
        var reply = await node.AddNetworkAsync(Add("web-1"), Ct);
        api.Available = true;

        reply.Success.Should().BeTrue(reply.FailureReason);
    }

    [Fact]
    public async Task AddNetworkAsync_CustomNetworking_AddressesComeFromTheZonesEniConfigSubnetWithItsGroup()
    {
        var network = _cluster.AddCustomNetworkingSubnets(IPNetwork.Parse("100.64.0.0/16"));
        var zone = _cluster.Nodes[0].AvailabilityZone;
        var subnet = network.SubnetIn(zone);
        var (api, nodeName) = await StartApiAsync();
        api.Apply(EniConfig(zone, subnet.SubnetId, network.SecurityGroupId));
        api.Apply(CniNode(nodeName));
        var node = await StartNodeAsync(api, nodeName, annotate: false, customNetworking: true);

        // m5.large: the two secondary ENIs' 18 addresses, as `plan --custom-networking` says (DaemonCliTests); never the primary's.
        for (var i = 0; i < 18; i++)
        {
            var reply = await node.AddNetworkAsync(Add($"cn-{i}"), Ct);
            reply.Success.Should().BeTrue(reply.FailureReason);
            subnet.Cidr.Contains(IPAddress.Parse(reply.IPAllocationMetadata[0].IPv4Addr)).Should().BeTrue($"{reply.IPAllocationMetadata[0].IPv4Addr} must come from the ENIConfig's subnet {subnet.Cidr}");
        }

        var full = await node.AddNetworkAsync(Add("cn-18"), TimeSpan.FromSeconds(2), Ct);
        full.Success.Should().BeFalse("the primary ENI's addresses are not for pods");

        var enis = _cluster.Vpc.GetInstanceView(_cluster.Nodes[0].InstanceId).NetworkInterfaces;
        enis.Where(e => e.Attachment?.DeviceIndex != 0).Should().NotBeEmpty()
            .And.OnlyContain(e => e.SubnetId == subnet.SubnetId && e.SecurityGroupIds.SequenceEqual(new[] { network.SecurityGroupId }));
        node.EniConfigName.Should().Be(zone);
        await WaitUntilAsync(() => CniNodeFeature(api, nodeName) == $"CustomNetworking={zone}", "the CNINode feature");
    }

    [Fact]
    public async Task AddNetworkAsync_CustomNetworkingWithoutTheNodesEniConfig_FailsNamingItWithAnEventAndCreatesNoEni()
    {
        var (api, nodeName) = await StartApiAsync();
        api.PutPod("default", "cn-x", nodeName);
        var node = await StartNodeAsync(api, nodeName, annotate: false, customNetworking: true);

        var reply = await node.AddNetworkAsync(Add("cn-x"), TimeSpan.FromSeconds(5), Ct);

        reply.Success.Should().BeFalse();
        reply.FailureReason.Should().Contain($"ENIConfig \"{_cluster.Nodes[0].AvailabilityZone}\"").And.Contain("not available");
        _cluster.Vpc.GetInstanceView(_cluster.Nodes[0].InstanceId).NetworkInterfaces.Should().ContainSingle("only the primary ENI: nothing was created");
        await WaitUntilAsync(() => Events(api).Any(e => e.Contains("ENIConfig", StringComparison.Ordinal)), "a FailedAssignIP event naming the ENIConfig");

        // Fixed by creating the ENIConfig: the pool retries at once instead of after its 120 s back-off.
        var network = _cluster.AddCustomNetworkingSubnets(IPNetwork.Parse("100.64.0.0/16"));
        var zone = _cluster.Nodes[0].AvailabilityZone;
        api.Apply(EniConfig(zone, network.SubnetIn(zone).SubnetId, network.SecurityGroupId));
        AddNetworkReply fixedReply;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        do
        {
            // As the kubelet retries the sandbox.
            fixedReply = await node.AddNetworkAsync(Add("cn-x"), TimeSpan.FromSeconds(2), Ct);
        }
        while (!fixedReply.Success && DateTime.UtcNow < until);

        fixedReply.Success.Should().BeTrue(fixedReply.FailureReason);
        network.SubnetIn(zone).Cidr.Contains(IPAddress.Parse(fixedReply.IPAllocationMetadata[0].IPv4Addr)).Should().BeTrue();
    }

    [Fact]
    public async Task AddNetworkAsync_CustomNetworkingWithoutPermissionToListEniConfigs_NamesTheMissingPermission()
    {
        var (api, nodeName) = await StartApiAsync();
        api.PutPod("default", "cn-z", nodeName);
        api.SetForbidden("eniconfigs", forbidden: true);
        var node = await StartNodeAsync(api, nodeName, annotate: false, customNetworking: true, initialSync: TimeSpan.FromSeconds(1));

        var reply = await node.AddNetworkAsync(Add("cn-z"), TimeSpan.FromSeconds(5), Ct);

        reply.Success.Should().BeFalse();
        reply.FailureReason.Should().Contain("403").And.Contain("cannot list resource \"eniconfigs\"");
        _cluster.Vpc.GetInstanceView(_cluster.Nodes[0].InstanceId).NetworkInterfaces.Should().ContainSingle("only the primary ENI: nothing was created");
        await WaitUntilAsync(() => Events(api).Any(e => e.Contains("eniconfigs", StringComparison.Ordinal)), "a FailedAssignIP event naming the missing permission");
    }

    [Fact]
    public async Task AddNetworkAsync_EniConfigSubnetInAnotherZone_FailsNamingTheSubnetAndCreatesNoEni()
    {
        var other = _cluster.Vpc.AddSubnet(_cluster.VpcInfo.VpcId, "us-west-2c", IPNetwork.Parse("10.0.64.0/20"));
        var (api, nodeName) = await StartApiAsync();
        api.Apply(EniConfig(_cluster.Nodes[0].AvailabilityZone, other.SubnetId, _cluster.SecurityGroupId));
        var node = await StartNodeAsync(api, nodeName, annotate: false, customNetworking: true);

        var reply = await node.AddNetworkAsync(Add("cn-y"), TimeSpan.FromSeconds(5), Ct);

        reply.Success.Should().BeFalse();
        reply.FailureReason.Should().Contain(other.SubnetId).And.Contain("us-west-2c");
        _cluster.Vpc.GetInstanceView(_cluster.Nodes[0].InstanceId).NetworkInterfaces.Should().ContainSingle("only the primary ENI: nothing was created");
    }

    private const string ZoneLabel = "topology.kubernetes.io/zone";

    private static string EniConfig(string name, string subnetId, string securityGroup) => new JsonObject
    {
        ["apiVersion"] = "crd.k8s.amazonaws.com/v1alpha1",
        ["kind"] = "ENIConfig",
        ["metadata"] = new JsonObject { ["name"] = name },
        ["spec"] = new JsonObject { ["subnet"] = subnetId, ["securityGroups"] = new JsonArray(securityGroup) },
    }.ToJsonString();

    private static string CniNode(string nodeName) => new JsonObject
    {
        ["apiVersion"] = "vpcresources.k8s.aws/v1alpha1",
        ["kind"] = "CNINode",
        ["metadata"] = new JsonObject { ["name"] = nodeName },
        ["spec"] = new JsonObject(),
    }.ToJsonString();

    private static string? CniNodeFeature(KubernetesApiEmulator api, string nodeName) =>
        JsonNode.Parse(api.GetJson("cninodes", null, nodeName) ?? "{}")?["spec"]?["features"]?.AsArray()
            .Select(f => $"{f?["name"]}={f?["value"]}").FirstOrDefault(f => f.StartsWith("CustomNetworking=", StringComparison.Ordinal));

    private static List<string> Events(KubernetesApiEmulator api) =>
        api.ListJson("events", "default").Select(e => JsonNode.Parse(e)?["message"]?.GetValue<string>() ?? "").ToList();

    [Fact]
    public async Task AddNetworkAsync_NodePodCapacityReached_WarningEventOnThePodInTheApi()
    {
        var (api, nodeName) = await StartApiAsync();
        api.SetNodePodCapacity(nodeName, 1);
        for (var i = 0; i < 40; i++)
        {
            api.PutPod("default", $"web-{i}", nodeName);
        }

        var node = await StartNodeAsync(api, nodeName, annotate: false);

        // The pool does not grow past the node's capacity: once its first addresses are taken, an ADD fails.
        string? failed = null;
        for (var i = 0; i < 40 && failed is null; i++)
        {
            if (!(await node.AddNetworkAsync(Add($"web-{i}"), Ct)).Success)
            {
                failed = $"web-{i}";
            }
        }

        failed.Should().NotBeNull("max pods 1 stops the pool's growth");
        JsonNode? e = null;
        await WaitUntilAsync(() => (e = FailureEvent(api, failed!)) is not null, "the FailedAssignIP event");
        e!["type"]!.GetValue<string>().Should().Be("Warning");
        e["message"]!.GetValue<string>().Should().Contain(nameof(AssignFailureReason.MaxPodsReached));
        e["involvedObject"]!["kind"]!.GetValue<string>().Should().Be("Pod");
        e["involvedObject"]!["uid"]!.GetValue<string>().Should().Be(JsonNode.Parse(api.GetJson("pods", "default", failed!)!)!["metadata"]!["uid"]!.GetValue<string>());
        e["source"]!["component"]!.GetValue<string>().Should().Be("aws-node");
        e["firstTimestamp"]!.GetValue<string>().Should().MatchRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", "meta/v1 Time, RFC 3339 in UTC");
    }

    private static JsonNode? FailureEvent(KubernetesApiEmulator api, string pod) =>
        api.ListJson("events", "default").Select(e => JsonNode.Parse(e)).FirstOrDefault(e =>
            e?["reason"]?.GetValue<string>() == KubernetesPodReporter.FailedReason && e["involvedObject"]?["name"]?.GetValue<string>() == pod);

    private static string? Annotation(KubernetesApiEmulator api, string pod) =>
        api.GetJson("pods", "default", pod) is { } json
            ? JsonNode.Parse(json)?["metadata"]?["annotations"]?["vpc.amazonaws.com/pod-ips"]?.GetValue<string>()
            : null;
}
