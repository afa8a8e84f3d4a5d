// vpc-cni-cloud: serves a simulated VPC as the EC2 Query API and IMDS on a loopback address.
//   vpc-cni-cloud --listen 127.0.0.1:PORT [--instance-type T] [--nodes N] [--subnet-size PREFIXLEN] [--kube-listen 127.0.0.1:PORT]
// IMDS per node: from the node's primary IPv4 (source address), or under /node/<n>/latest/... .
// --kube-listen also serves a Kubernetes API subset (docs/kubernetes-emulator.md), one Node per instance.
using VpcCni.Aws.Emulation;
using VpcCni.Aws.Emulation.Kubernetes;
using VpcCni.Aws.Limits;
using VpcCni.Aws.Simulation;

string listen = "127.0.0.1:8181", type = "m5.large";
string? kubeListen = null;
int nodes = 1, subnetSize = 20;
for (var i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--listen": listen = Next(); break;
        case "--instance-type": type = Next(); break;
        case "--kube-listen": kubeListen = Next(); break;
        case "--nodes": nodes = int.TryParse(Next(), out var n) && n is >= 1 and <= 64 ? n : throw new ArgumentException("--nodes must be 1-64"); break;
        case "--subnet-size": subnetSize = int.TryParse(Next(), out var s) && s is >= 16 and <= 28 ? s : throw new ArgumentException("--subnet-size is a prefix length, 16-28"); break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}\nusage: vpc-cni-cloud --listen 127.0.0.1:PORT [--instance-type T] [--nodes N] [--subnet-size PREFIXLEN] [--kube-listen 127.0.0.1:PORT]");
            return 2;
    }
}

if (!InstanceLimitsCatalog.TryGet(type, out _))
{
    Console.Error.WriteLine($"--instance-type '{type}' is not a known EC2 instance type");
    return 2;
}

var cluster = SimulatedCluster.Create(type, nodes, subnetSize);
await using var server = new CloudEmulatorServer(cluster.Vpc, $"http://{listen}/");
server.Start();
Console.WriteLine($"EC2 Query API: http://{listen}/  region {cluster.Vpc.Options.Region}  vpc {cluster.VpcInfo.VpcId}  subnet {cluster.Subnet.SubnetId} ({cluster.Subnet.Cidr})");
for (var k = 0; k < cluster.Nodes.Count; k++)
{
    var node = cluster.Nodes[k];
    Console.WriteLine($"node {k}: {node.InstanceId} {node.InstanceType} {node.PrivateIPv4}  IMDS: http://{listen}/node/{k}/latest/  (or from source {node.PrivateIPv4})");
}

await using var kube = kubeListen is null ? null : new KubernetesApiEmulator(cluster.Vpc, $"http://{kubeListen}/");
if (kube is not null)
{
    kube.Start();
    Console.WriteLine($"Kubernetes API: {kube.BaseAddress}  (kubectl --server {kube.BaseAddress})  nodes: {string.Join(' ', cluster.Nodes.Select(kube.NodeName))}");
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();
try
{
    await Task.Delay(Timeout.Infinite, stop.Token);
}
catch (OperationCanceledException)
{
}

return 0;
