# The main job on VirtFleet's local lab fleet (run by ./build.sh demo through vfsh, or in pwsh).
$ErrorActionPreference = 'Stop'
Start-VfLab -HostCount 3
Get-VfLab
