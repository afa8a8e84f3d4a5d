using System.Globalization;
using System.Net;

namespace VpcCni.Hosting.Plugin;

/// <summary>The plugin's log events (event ids 41xx, as the daemon numbers its own); each is formatted only when its level is on.</summary>
internal static class PluginLog
{
    public static void Added(PluginLogger logger, string containerId, string ifName, string podNamespace, string podName, IPAddress address, int routeTable, string hostVeth)
    {
        if (logger.IsEnabled(PluginLogLevel.Information))
        {
            logger.Write(PluginLogLevel.Information, string.Create(CultureInfo.InvariantCulture, $"ADD {containerId}/{ifName} pod {podNamespace}/{podName}: {address} table {routeTable} veth {hostVeth}"), null);
        }
    }

    public static void AddRollback(PluginLogger logger, Exception exception, string containerId, string ifName, string address)
    {
        if (logger.IsEnabled(PluginLogLevel.Warning))
        {
            logger.Write(PluginLogLevel.Warning, $"ADD {containerId}/{ifName}: wiring failed, releasing {address}", exception);
        }
    }

    public static void Deleted(PluginLogger logger, string containerId, string ifName, int count)
    {
        if (logger.IsEnabled(PluginLogLevel.Information))
        {
            logger.Write(PluginLogLevel.Information, string.Create(CultureInfo.InvariantCulture, $"DEL {containerId}/{ifName}: released {count} address(es)"), null);
        }
    }

    public static void DeleteWithoutDaemon(PluginLogger logger, Exception exception, string containerId, string ifName)
    {
        if (logger.IsEnabled(PluginLogLevel.Warning))
        {
            logger.Write(PluginLogLevel.Warning, $"DEL {containerId}/{ifName}: ipamd unreachable, tearing down from prevResult only", exception);
        }
    }

    public static void RollbackReleaseFailed(PluginLogger logger, Exception exception, string containerId, string ifName)
    {
        if (logger.IsEnabled(PluginLogLevel.Warning))
        {
            logger.Write(PluginLogLevel.Warning, $"rollback of {containerId}/{ifName} could not release the address", exception);
        }
    }

    public static void GarbageCollected(PluginLogger logger, string network, int count)
    {
        if (logger.IsEnabled(PluginLogLevel.Information))
        {
            logger.Write(PluginLogLevel.Information, string.Create(CultureInfo.InvariantCulture, $"GC of network {network}: released {count} stale attachment(s)"), null);
        }
    }

    public static void TeardownFailed(PluginLogger logger, Exception exception, string address, string podNamespace, string podName)
    {
        if (logger.IsEnabled(PluginLogLevel.Warning))
        {
            logger.Write(PluginLogLevel.Warning, $"teardown of {address} for pod {podNamespace}/{podName} failed", exception);
        }
    }

    public static void NetworkPolicyEnforced(PluginLogger logger, string podNamespace, string podName, string mode)
    {
        if (logger.IsEnabled(PluginLogLevel.Information))
        {
            logger.Write(PluginLogLevel.Information, $"network policy ({mode}) enforced for pod {podNamespace}/{podName}", null);
        }
    }

    public static void NetworkPolicyEnforceFailed(PluginLogger logger, Exception? exception, string podNamespace, string podName, string mode, string address)
    {
        if (logger.IsEnabled(PluginLogLevel.Error))
        {
            logger.Write(PluginLogLevel.Error, $"network policy ({mode}) for pod {podNamespace}/{podName} not set up by the agent at {address}", exception);
        }
    }

    public static void NetworkPolicyDeleteFailed(PluginLogger logger, Exception? exception, string podNamespace, string podName, string reason)
    {
        if (logger.IsEnabled(PluginLogLevel.Warning))
        {
            logger.Write(PluginLogLevel.Warning, $"network policy agent did not delete the policy state of pod {podNamespace}/{podName}: {reason}", exception);
        }
    }
}
