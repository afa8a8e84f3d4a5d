using System.Text.Json.Nodes;

namespace VpcCni.Aws.Emulation.Kubernetes;

/// <summary>
/// The discovery documents kubectl and client libraries read: <c>/version</c>, <c>/api</c>, <c>/apis</c>,
/// <c>/apis/&lt;group&gt;</c> and the APIResourceList of each group version. Only the legacy (unaggregated) form is
/// served; clients that ask for aggregated discovery (<c>apidiscovery.k8s.io/v2</c>) fall back to it when the answer's
/// Content-Type is plain <c>application/json</c>.
/// </summary>
internal static class KubeDiscovery
{
    /// <summary>The Kubernetes version the emulator claims (kubectl warns about skew beyond one minor version).</summary>
    public const string Major = "1";
    public const string Minor = "32";

    private static readonly string[] AllVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

    public static JsonObject Version() => new()
    {
        ["major"] = Major,
        ["minor"] = Minor,
        ["gitVersion"] = $"v{Major}.{Minor}.0-vpccni-emulator",
        ["gitCommit"] = "0000000000000000000000000000000000000000",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "2025-01-01T00:00:00Z",
        ["goVersion"] = "go1.23",
        ["compiler"] = "gc",
        ["platform"] = "linux/amd64",
    };

    public static JsonObject CoreVersions(string serverAddress) => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = serverAddress }),
    };

    public static IEnumerable<string> Groups => KubeResource.All.Where(r => r.Group.Length > 0).Select(r => r.Group).Distinct();

    public static JsonObject GroupList() => new()
    {
        ["kind"] = "APIGroupList",
        ["apiVersion"] = "v1",
        ["groups"] = new JsonArray(Groups.Select(g => (JsonNode)GroupBody(g)).ToArray()),
    };

    public static JsonObject? Group(string group)
    {
        if (!Groups.Contains(group))
        {
            return null;
        }

        var body = GroupBody(group);
        body["kind"] = "APIGroup";
        body["apiVersion"] = "v1";
        return body;
    }

    /// <summary>The APIResourceList of a group version (<c>""</c> for core), or null when it is not served.</summary>
    public static JsonObject? Resources(string group, string version)
    {
        var resources = KubeResource.All.Where(r => r.Group == group && r.Version == version).ToList();
        if (resources.Count == 0)
        {
            return null;
        }

        var list = new JsonArray();
        foreach (var r in resources)
        {
            var entry = new JsonObject
            {
                ["name"] = r.Plural,
                ["singularName"] = r.Singular,
                ["namespaced"] = r.Namespaced,
                ["kind"] = r.Kind,
                ["verbs"] = new JsonArray(AllVerbs.Select(v => (JsonNode)v).ToArray()),
            };
            if (r.ShortNames.Count > 0)
            {
                entry["shortNames"] = new JsonArray(r.ShortNames.Select(s => (JsonNode)s).ToArray());
            }

            list.Add((JsonNode)entry);
            if (r.Kind is "Node" or "Pod" or "Namespace" or "CNINode")
            {
                list.Add((JsonNode)new JsonObject
                {
                    ["name"] = r.Plural + "/status",
                    ["singularName"] = "",
                    ["namespaced"] = r.Namespaced,
                    ["kind"] = r.Kind,
                    ["verbs"] = new JsonArray("get", "patch", "update"),
                });
            }
        }

        return new JsonObject
        {
            ["kind"] = "APIResourceList",
            ["apiVersion"] = "v1",
            ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}",
            ["resources"] = list,
        };
    }

    private static JsonObject GroupBody(string group)
    {
        var versions = KubeResource.All.Where(r => r.Group == group).Select(r => r.Version).Distinct().ToList();
        JsonObject Gv(string v) => new() { ["groupVersion"] = $"{group}/{v}", ["version"] = v };
        return new JsonObject
        {
            ["name"] = group,
            ["versions"] = new JsonArray(versions.Select(v => (JsonNode)Gv(v)).ToArray()),
            ["preferredVersion"] = Gv(versions[0]),
        };
    }
}
