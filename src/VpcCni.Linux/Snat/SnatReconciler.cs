using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VpcCni.Linux.Namespaces;

namespace VpcCni.Linux.Snat;

/// <summary>
/// Reconciles the node's SNAT and connmark rules (upstream <c>UpdateHostSNATRules</c>) inside one network
/// namespace. iptables changes are applied as one atomic `iptables-restore --noflush` transaction per table;
/// the nftables connmark table is replaced atomically by one `nft -f`. Nothing changes when the live
/// rules already match, so it is safe to call on every VPC CIDR refresh.
/// </summary>
public sealed class SnatReconciler
{
    private readonly NetworkNamespace _namespace;
    private readonly NetfilterTools _tools;
    private readonly ToolRunner _runner;
    private readonly ILogger _logger;
    private readonly ConnmarkBackend _requestedBackend;
    private readonly Lock _lock = new();
    private ConnmarkBackend? _detected;
    private string? _lastNftListing;
    private string? _lastNftScript;

    public SnatReconciler(NetworkNamespace ns, ConnmarkBackend backend = ConnmarkBackend.Auto, NetfilterTools? tools = null, NetworkNamespaceExecutor? executor = null, ILogger<SnatReconciler>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(ns);
        _namespace = ns;
        _requestedBackend = backend;
        _tools = tools ?? new NetfilterTools();
        _runner = new ToolRunner(executor ?? NetworkNamespaceExecutor.Shared);
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>The backend in use: the override, or detected like upstream from `iptables --version`.</summary>
    public ConnmarkBackend Backend
    {
        get
        {
            if (_requestedBackend != ConnmarkBackend.Auto)
            {
                return _requestedBackend;
            }

            lock (_lock)
            {
                return _detected ??= _runner.RunChecked(_namespace, _tools.Iptables, ["--version"]).Contains("legacy", StringComparison.Ordinal)
                    ? ConnmarkBackend.Iptables
                    : ConnmarkBackend.Nftables;
            }
        }
    }

    /// <summary>Brings the live rules to the configuration; returns what changed.</summary>
    public SnatReconcileResult Reconcile(SnatConfiguration config)
    {
        Validate(config);
        lock (_lock)
        {
            var backend = Backend;
            var iptablesChanged = false;
            foreach (var desired in new[] { SnatRules.DesiredNat(config, backend), SnatRules.DesiredMangle(config) })
            {
                var save = _runner.RunChecked(_namespace, _tools.IptablesSave, ["-t", desired.Table]);
                var current = SnatRules.ParseOwned(desired.Table, save);
                if (!current.SameAs(desired))
                {
                    _runner.RunChecked(_namespace, _tools.IptablesRestore, ["-w", "5", "--noflush"], SnatRules.BuildRestore(current, desired));
                    iptablesChanged = true;
                }
            }

            var nftChanged = ReconcileNftables(config, backend == ConnmarkBackend.Nftables && !config.ExternalSnat);
            var result = new SnatReconcileResult(backend, iptablesChanged, nftChanged);
            _logger.SnatReconciled(backend, result.Changed);
            return result;
        }
    }

    private bool ReconcileNftables(SnatConfiguration config, bool wanted)
    {
        var (exit, listing, _) = _runner.Run(_namespace, _tools.Nft, ["list", "table", "ip", SnatRules.NftTable]);
        var exists = exit == 0;
        if (!wanted)
        {
            if (!exists)
            {
                return false;
            }

            _runner.RunChecked(_namespace, _tools.Nft, ["delete", "table", "ip", SnatRules.NftTable]);
            _lastNftListing = null;
            return true;
        }

        var script = SnatRules.RenderNftables(config);
        if (exists && _lastNftListing is not null && SnatRules.NormalizeNftListing(listing) == _lastNftListing && _lastNftScript == script)
        {
            return false;
        }

        _runner.RunChecked(_namespace, _tools.Nft, ["-f", "-"], script);
        _lastNftScript = script;
        _lastNftListing = SnatRules.NormalizeNftListing(_runner.RunChecked(_namespace, _tools.Nft, ["list", "table", "ip", SnatRules.NftTable]));
        return true;
    }

    private static void Validate(SnatConfiguration config)
    {
        ArgumentNullException.ThrowIfNull(config);
        Netlink.Protocol.RtCodecs.ValidateLinkName(config.PrimaryInterface);
        if (config.PrimaryAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"SNAT source {config.PrimaryAddress} must be IPv4 (upstream SNATs IPv4 only).", nameof(config));
        }

        if (config.ConnectionMark == 0)
        {
            throw new ArgumentException("AWS_VPC_K8S_CNI_CONNMARK must be non-zero.", nameof(config));
        }

        if (string.IsNullOrEmpty(config.VethPrefix) || config.VethPrefix.Length > 4 || !config.VethPrefix.All(char.IsAsciiLetterOrDigit))
        {
            throw new ArgumentException($"AWS_VPC_K8S_CNI_VETHPREFIX '{config.VethPrefix}' must be 1-4 letters or digits.", nameof(config));
        }

        foreach (var cidr in config.VpcCidrs.Concat(config.ExcludedCidrs))
        {
            if (cidr.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
            {
                throw new ArgumentException($"CIDR {cidr} in AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS / VPC CIDRs must be IPv4.", nameof(config));
            }
        }
    }
}
