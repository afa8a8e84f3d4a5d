using System.Globalization;

namespace VpcCni.Lab;

internal static class LabArguments
{
    public const string Usage = """
        usage: vpc-cni-lab run    [--nodes N] [--pods-per-node M] [--instance-type T] [--custom-networking]
                                  [--prefix-delegation [--max-pods N]] [--fragmented-subnet] [--ipv6 | --v6-egress]
                                  [--keep] [--json]
               vpc-cni-lab up     [same as run, without --keep] [--foreground]
                                  (returns once the lab is ready, which keeps running in the background; its output
                                  goes to /run/vpc-cni-lab.NAME.log; --foreground stays attached until signalled)
               vpc-cni-lab verify
               vpc-cni-lab down
               vpc-cni-lab chaos  [--minutes N] [--seed S] [--workers W] [--nodes N] [--instance-type T]
                                  (ADD/DEL storms while daemons are killed and EC2, IMDS and disks fail; then audits)
        --custom-networking: a second VPC CIDR 100.64.0.0/16 with a pod subnet per zone, named by an ENIConfig per zone;
                pods get their addresses there (AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true)
        --prefix-delegation: pods addressed from /28 prefixes; --max-pods N is the nodes' pod capacity (default 110
                with prefix delegation, as EKS's max-pods calculator gives for small types), so a node fills past its
                secondary-IP max pods (e.g. --pods-per-node 40 on t3.small, whose secondary-IP max pods is 11)
        --fragmented-subnet: prefix delegation on a node subnet with no free /28 (one address taken in each): pods get
                /32s (the live fallback), then the subnet is defragmented and the pool returns to prefixes
                (default instance type m5.xlarge: a t3.small's ENIs fill up with /32s and have no slot left to probe)
        --ipv6: an IPv6 cluster (ENABLE_IPv6=true, ENABLE_IPv4=false, ENABLE_PREFIX_DELEGATION=true): the VPC gets a
                unique-local IPv6 block (fd00:ec2::/56), each node's primary ENI an IPv6 address and a /80 prefix; pods get
                /128s and reach each other, the AWS service and the internet (2001:db8:100::10) over IPv6 with their own
                address, and an IPv4-only internet host (198.51.100.10) through egress-cni (v4if0, SNAT to the node's IPv4)
        --v6-egress: an IPv4 cluster with ENABLE_V6_EGRESS=true: the nodes' primary ENIs get IPv6 addresses of the VPC's
                unique-local block; pods reach the IPv6 internet host (2001:db8:100::10) through egress-cni (v6if0, SNAT
                to the node's IPv6) besides the five IPv4 paths
        --name NAME (default vpclab; [a-z][a-z0-9]{0,11}): the lab's namespaces are NAME-*, its work directory
                /run/vpclab.NAME; a lab refuses to start while another lab of the same name is live, and leaves labs
                of other names alone (verify/down take --name too)
        common: --bin-dir DIR (vpc-cni, vpc-cni-ipamd; default: artifacts/lab-bin beside the repository)
                --cnidriver PATH (default: artifacts/tools/cnidriver) --work-dir DIR (default /run/vpclab)
        """;

    public static (string Command, LabOptions Options) Parse(string[] args)
    {
        var command = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "run";
        var repo = FindRepo();
        var options = new LabOptions
        {
            BinDirectory = Path.Combine(repo, "artifacts", "lab-bin"),
            CniDriver = Path.Combine(repo, "artifacts", "tools", "cnidriver"),
        };
        for (var i = command == "run" && (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal)) ? 0 : 1; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            int Int(int min, int max)
            {
                var name = args[i];
                var text = Value();
                return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max
                    ? v
                    : throw new ArgumentException($"{name} \"{text}\" must be an integer from {min} to {max}");
            }

            double Minutes()
            {
                var text = Value();
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 1 && v <= 120
                    ? v
                    : throw new ArgumentException($"--minutes \"{text}\" must be a number from 1 to 120");
            }

            options = args[i] switch
            {
                "--nodes" => options with { Nodes = Int(1, 8) },
                "--pods-per-node" => options with { PodsPerNode = Int(1, 64) },
                "--instance-type" => options with { InstanceType = Value(), InstanceTypeGiven = true },
                "--keep" => options with { Keep = true },
                "--custom-networking" => options with { CustomNetworking = true },
                "--prefix-delegation" => options with { PrefixDelegation = true },
                "--fragmented-subnet" => options with { PrefixDelegation = true, FragmentedSubnet = true },
                "--max-pods" => options with { MaxPods = Int(1, 737) },
                "--ipv6" => options with { IPv6 = true },
                "--v6-egress" => options with { V6Egress = true },
                "--json" => options with { Json = true },
                "--name" => options with { Name = LabName(Value()) },
                "--foreground" => options with { Foreground = true },
                "--bin-dir" => options with { BinDirectory = Path.GetFullPath(Value()) },
                "--cnidriver" => options with { CniDriver = Path.GetFullPath(Value()) },
                "--work-dir" => options with { WorkDirectory = Path.GetFullPath(Value()), WorkDirectoryGiven = true },
                "--minutes" => options with { Minutes = Minutes() },
                "--seed" => options with { Seed = Int(1, int.MaxValue) },
                "--workers" => options with { ChaosWorkers = Int(1, 16) },
                _ => throw new ArgumentException($"unknown option \"{args[i]}\""),
            };
        }

        if (!options.WorkDirectoryGiven)
        {
            options = options with { WorkDirectory = LabOptions.DefaultWorkDirectory(options.Name) };
        }

        if (options.FragmentedSubnet && !options.InstanceTypeGiven)
        {
            options = options with { InstanceType = "m5.xlarge" };
        }

        if (!VpcCni.Aws.Limits.InstanceLimitsCatalog.TryGet(options.InstanceType, out var limits))
        {
            throw new ArgumentException($"--instance-type \"{options.InstanceType}\" is not a known instance type");
        }

        if (options.PrefixDelegation && !limits.SupportsPrefixDelegation)
        {
            throw new ArgumentException($"--prefix-delegation: {options.InstanceType} does not support prefix delegation (not a Nitro type)");
        }

        if (options.IPv6 && (options.V6Egress || options.CustomNetworking || options.PrefixDelegation))
        {
            // As upstream's isConfigValid: IPv6 needs prefix delegation (implied here) and no custom networking; V6 egress is for IPv4 clusters.
            throw new ArgumentException("--ipv6 cannot be combined with --v6-egress, --custom-networking, --prefix-delegation or --fragmented-subnet (it implies prefix delegation)");
        }

        if (options.V6Egress && options.CustomNetworking)
        {
            throw new ArgumentException("--v6-egress cannot be combined with --custom-networking");
        }

        if (options.IPv6 && !limits.SupportsPrefixDelegation)
        {
            throw new ArgumentException($"--ipv6: {options.InstanceType} does not support prefix delegation (not a Nitro type), which IPv6 clusters need");
        }

        if (options.PrefixDelegation && options.MaxPods is null)
        {
            options = options with { MaxPods = 110 };
        }

        if (limits.MaxEnis < 2)
        {
            throw new ArgumentException($"--instance-type \"{options.InstanceType}\" has a single ENI; the lab needs at least 2");
        }

        if (command is "run" or "up" or "chaos")
        {
            // init always installs egress-cni (the conflist always chains it) and host-local, the IPAM its entry names.
            string[] egress = options.DualStack ? [Path.Combine(options.BinDirectory, "egress-cni"), options.HostLocalPlugin] : [Path.Combine(options.BinDirectory, "egress-cni")];
            foreach (var binary in new[] { Path.Combine(options.BinDirectory, "vpc-cni"), Path.Combine(options.BinDirectory, "vpc-cni-ipamd"), options.CniDriver, options.PortmapPlugin }.Concat(egress))
            {
                if (!File.Exists(binary))
                {
                    throw new ArgumentException($"{binary} not found; build the lab first with scripts/lab.sh (it publishes the binaries and builds cnidriver)");
                }
            }
        }

        return (command, options);
    }

    /// <summary>A name that makes namespace names no other lab's prefix matches (no dash) and fits link names.</summary>
    private static string LabName(string name) =>
        System.Text.RegularExpressions.Regex.IsMatch(name, "^[a-z][a-z0-9]{0,11}$")
            ? name
            : throw new ArgumentException($"--name \"{name}\" must be a lower-case letter followed by up to 11 lower-case letters or digits");

    private static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "VpcCni.sln")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
