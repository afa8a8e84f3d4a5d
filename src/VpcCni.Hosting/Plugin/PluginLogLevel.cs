namespace VpcCni.Hosting.Plugin;

/// <summary>
/// The plugin log's levels: Microsoft.Extensions.Logging's, in its order and with its names in the log lines, but ours,
/// so the plugin does not link that library.
/// </summary>
internal enum PluginLogLevel
{
    Trace = 0,
    Debug = 1,
    Information = 2,
    Warning = 3,
    Error = 4,
    Critical = 5,
    None = 6,
}
