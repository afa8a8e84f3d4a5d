namespace VpcCni.Hosting.Plugin.Wire;

/// <summary>vpccni.v1.PodWiringOutcome (Protos/vpccni.proto); a value this plugin does not know reads as its number.</summary>
internal enum PodWiringOutcome
{
    /// <summary>Nothing was done: the plugin runs the classic flow.</summary>
    PodWiringNotAttempted = 0,

    /// <summary>The address is assigned (ADD) or released (DEL) and the wiring is in place (ADD) or gone (DEL).</summary>
    PodWiringDone = 1,

    /// <summary>ADD only: the container already has an interface of that name; nothing was assigned.</summary>
    PodWiringInterfaceExists = 2,

    /// <summary>The wiring failed (Detail names the step).</summary>
    PodWiringFailed = 3,
}
