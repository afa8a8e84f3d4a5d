// vpc-cni-cloud: serves a simulated VPC as the EC2 Query API and IMDS on a loopback address (Kestrel).
//   vpc-cni-cloud --listen 127.0.0.1:PORT [--instance-type T] [--nodes N] [--subnet-size PREFIXLEN] [--kube-listen 127.0.0.1:PORT]
//                 [--ec2-latency MS|DURATION] [--fault-rate 0..1] [--throttle-rate 0..1]
// IMDS per node: from the node's primary IPv4 (source address), or under /node/<n>/latest/... .
// --kube-listen also serves a Kubernetes API subset (docs/kubernetes-emulator.md), one Node per instance.
// What is answered: src/VpcCni.Aws.Emulation/README.md. A bad argument exits with 2 and a message naming it.
using System.Runtime.InteropServices;
using VpcCni.Aws.Emulation;
using VpcCni.Aws.Emulation.Kubernetes;
using VpcCni.Aws.Limits;
using VpcCni.Aws.Simulation;
using VpcCni.CloudEmulator;

var arguments = CloudEmulatorArguments.Parse(args, out var error);
if (arguments is null)
{
    Console.Error.WriteLine(error);
    return 2;
}

if (!InstanceLimitsCatalog.TryGet(arguments.InstanceType, out _))
{
    Console.Error.WriteLine($"--instance-type '{arguments.InstanceType}' is not a known EC2 instance type");
    return 2;
}

var listen = arguments.Listen;
var kubeListen = arguments.KubeListen;
var cluster = SimulatedCluster.Create(arguments.InstanceType, arguments.Nodes, arguments.SubnetSize);
var requests = cluster.Vpc.Requests;
requests.DefaultLatency = arguments.Ec2Latency;
if (arguments.FaultRate > 0)
{
    requests.SetErrorRate("*", "InternalError", arguments.FaultRate);
}

if (arguments.ThrottleRate > 0)
{
    requests.SetErrorRate("*", "RequestLimitExceeded", arguments.ThrottleRate);
}

// SIGTERM (what a test harness or `kill` sends): stop serving, release the ports, exit 0. Registered before the
// first line that tells a harness the server is up, so a SIGTERM right after that line is never the default one.
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal => { signal.Cancel = true; stop.Cancel(); });

CloudEmulatorServer server;
try
{
    server = new CloudEmulatorServer(cluster.Vpc, $"http://{listen}/");
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"--listen '{listen}': {e.Message}");
    return 2;
}

await using var serverScope = server;
try
{
    server.Start();
}
catch (IOException e)
{
    Console.Error.WriteLine($"--listen {listen}: {e.Message}");
    return 1;
}

listen = server.BaseAddress.Authority;
Console.WriteLine($"EC2 Query API: http://{listen}/  region {cluster.Vpc.Options.Region}  vpc {cluster.VpcInfo.VpcId}  subnet {cluster.Subnet.SubnetId} ({cluster.Subnet.Cidr})");
if (arguments.Ec2Latency > TimeSpan.Zero || arguments.FaultRate > 0 || arguments.ThrottleRate > 0)
{
    Console.WriteLine($"EC2 faults: latency {arguments.Ec2Latency.TotalMilliseconds} ms, InternalError rate {arguments.FaultRate}, RequestLimitExceeded rate {arguments.ThrottleRate}");
}

for (var k = 0; k < cluster.Nodes.Count; k++)
{
    var node = cluster.Nodes[k];
    Console.WriteLine($"node {k}: {node.InstanceId} {node.InstanceType} {node.PrivateIPv4}  IMDS: http://{listen}/node/{k}/latest/  (or from source {node.PrivateIPv4})");
}

KubernetesApiEmulator? kube = null;
try
{
    kube = kubeListen is null ? null : new KubernetesApiEmulator(cluster.Vpc, $"http://{kubeListen}/");
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"--kube-listen '{kubeListen}': {e.Message}");
    return 2;
}

await using var kubeScope = kube;
if (kube is not null)
{
    try
    {
        kube.Start();
    }
    catch (IOException e)
    {
        Console.Error.WriteLine($"--kube-listen {kubeListen}: {e.Message}");
        return 1;
    }

    Console.WriteLine($"Kubernetes API: {kube.BaseAddress}  (kubectl --server {kube.BaseAddress})  nodes: {string.Join(' ', cluster.Nodes.Select(kube.NodeName))}");
}

try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
}

return 0;
