namespace VpcCni.Aws;

/// <summary>The in-process simulated VPC that <see cref="AwsServiceCollectionExtensions.AddVpcCniSimulatedCloud(Microsoft.Extensions.DependencyInjection.IServiceCollection, Action{SimulatedCloudOptions})"/> builds.</summary>
public sealed class SimulatedCloudOptions
{
    /// <summary>The EC2 instance type of the one simulated node (its ENI and address limits apply).</summary>
    public string InstanceType { get; set; } = "m5.large";
}
