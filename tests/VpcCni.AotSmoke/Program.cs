using VpcCni.Cloud;

var limits = new InstanceLimits("m5.large", 3, 10);
Console.WriteLine(limits.InstanceType);
return limits.MaxEnis == 3 ? 0 : 1;
