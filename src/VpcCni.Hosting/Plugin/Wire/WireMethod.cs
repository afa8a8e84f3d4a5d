namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>The HTTP/2 paths (/package.Service/Method) of the calls the plugin makes, as Protos/*.proto declare them.</summary>
internal static class WireMethod
{
    public const string AddNetwork = "/rpc.CNIBackend/AddNetwork";
    public const string DelNetwork = "/rpc.CNIBackend/DelNetwork";
    public const string EnforceNpToPod = "/rpc.NPBackend/EnforceNpToPod";
    public const string DeletePodNp = "/rpc.NPBackend/DeletePodNp";
    public const string GetAttachment = "/vpccni.v1.PluginBackend/GetAttachment";
    public const string GetStatus = "/vpccni.v1.PluginBackend/GetStatus";
    public const string GarbageCollect = "/vpccni.v1.PluginBackend/GarbageCollect";
    public const string RemoveHostVeth = "/vpccni.v1.PluginBackend/RemoveHostVeth";
    public const string AddPodNetwork = "/vpccni.v1.PluginBackend/AddPodNetwork";
    public const string DelPodNetwork = "/vpccni.v1.PluginBackend/DelPodNetwork";
}
