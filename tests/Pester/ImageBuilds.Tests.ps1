# Specs of issue 16 parts 3 and 4 that need no hosts: the image-build and console cmdlets as a user meets them in pwsh.
# The builds and consoles themselves are proven on the lab by tests/Lab/ImageBuildLabTests.cs. Pester 6; see Common.ps1.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $dir = Join-Path ([IO.Path]::GetTempPath()) "vf-pester-isobuild-$PID"
    New-Item -ItemType Directory -Force $dir | Out-Null
    $inv = Join-Path $dir 'inventory.yml'
}

AfterAll {
    Remove-Item -Recurse -Force $dir -ErrorAction SilentlyContinue
}

Describe 'Image build and console cmdlets' {
    It 'are exported with help and an example each' {
        foreach ($name in 'New-VfImageBuild', 'Get-VfImageBuild', 'Complete-VfImageBuild', 'Remove-VfImageBuild', 'Get-VfConsoleOutput', 'Connect-VfConsole') {
            $help = Get-Help $name -Full
            $help.Synopsis | Should -Not -BeLike "$name*" -Because 'a synopsis is written, not generated'
            @($help.Examples.Example).Count | Should -BeGreaterThan 0
        }
    }

    It 'ask before changing anything (-WhatIf) and take builds from the pipeline' {
        foreach ($name in 'New-VfImageBuild', 'Complete-VfImageBuild', 'Remove-VfImageBuild', 'Connect-VfConsole') {
            (Get-Command $name).Parameters.Keys | Should -Contain 'WhatIf'
        }
        $p = (Get-Command Complete-VfImageBuild).Parameters['Build']
        $p.Attributes.Where({ $_ -is [Parameter] }).ValueFromPipeline | Should -Contain $true
        (Get-Command Get-VfConsoleOutput).Parameters['Tail'].ParameterType | Should -Be ([int])
    }

    It 'refuses a missing ISO by name, as a terminating error, before reading any host' {
        Add-VfHost -Name hv1 -Address 198.51.100.250 -Inventory $inv -Confirm:$false | Out-Null
        $caught = $null
        try { New-VfImageBuild -Iso (Join-Path $dir 'nope.iso') -OsFamily Linux -DiskGiB 2 -Inventory $inv -ConnectTimeout 1 }
        catch { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -BeLike 'ImageBuildFileNotFound,*'
        $caught.Exception.Message | Should -Match 'nope\.iso'
    }
}
